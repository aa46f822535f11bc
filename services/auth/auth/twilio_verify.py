"""``TwilioVerifyProvider``: the adapter to Twilio Verify v2 through the real SDK, async.

- The SDK client and its aiohttp transport are built in the lifespan (inside the running loop)
  and closed on shutdown (:meth:`close`); every call runs under ``asyncio.timeout`` because the
  SDK's async client ignores its own timeout (twilio-python#925).
- ``check`` returns True/False for approved/pending; every failure raises a typed
  :mod:`auth.otp_provider` error: a wrong code is never an exception and an exception is never
  a wrong code.
- Only a 20429 ("never processed, safe to retry") is retried, once, with jitter. A timed-out
  send is not retried: the SMS may already be on its way.
- Logs carry the operation, HTTP status, Twilio error code and the Verify service SID prefix;
  never the phone number, the code, or Twilio's message text (it can echo the ``To`` value).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from common.twilio_transport import twilio_http_client
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from auth.otp_provider import (
    MaxChecksReachedError,
    ProviderDiagnostics,
    ProviderError,
    ProviderMisconfiguredError,
    ProviderRejectedError,
    ProviderUnavailableError,
    Rejection,
    VerificationNotFoundError,
)

logger = logging.getLogger(__name__)

# The SDK logs every request line at INFO; the URLs carry verification SIDs, nothing we need.
logging.getLogger("twilio.async_http_client").setLevel(logging.WARNING)
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

ErrorRecorder = Callable[[str, str], Awaitable[None]]

_BLOCKED = frozenset({60410, 60238, 60413})
_SEND_LIMIT = frozenset({60203, 60212})
_AUTH_FAILED = frozenset({20003, 20008, 20401})
_RETRY_THROTTLED = 20429


def _status_and_code(exc: TwilioException) -> tuple[int | None, int | None]:
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    status = int(status) if isinstance(status, int | str) and str(status).isdigit() else None
    code = int(code) if isinstance(code, int | str) and str(code).isdigit() else None
    if code is not None and code == status:
        code = None  # a non-JSON error body: the SDK copies the HTTP status into ``code``
    return status, code


def classify(exc: TwilioException, operation: str) -> ProviderError:
    """Maps a Twilio error answer to our typed outcome (docs/auth.md §1)."""
    status, code = _status_and_code(exc)
    message = str(getattr(exc, "msg", "") or getattr(exc, "detail", "") or "")
    if code in _AUTH_FAILED or (code is None and status in (401, 403)):
        return ProviderMisconfiguredError("credentials rejected", provider_code=code)
    if code == 20404:
        if operation in ("check", "fetch", "cancel"):
            return VerificationNotFoundError("verification not found", provider_code=code)
        return ProviderMisconfiguredError("Verify service not found", provider_code=code)
    if code == 60200:
        if operation == "check":
            return ProviderRejectedError(Rejection.INVALID_CODE_FORMAT, provider_code=code)
        if "`To`" in message or "'To'" in message or " To" in message:
            return ProviderRejectedError(Rejection.INVALID_NUMBER, provider_code=code)
        return ProviderMisconfiguredError("invalid parameter sent to Verify", provider_code=code)
    if code == 60006 or code == 21211:
        return ProviderRejectedError(Rejection.INVALID_NUMBER, provider_code=code)
    if code == 60605:
        return ProviderRejectedError(Rejection.REGION, provider_code=code)
    if code in _BLOCKED:
        return ProviderRejectedError(Rejection.BLOCKED, provider_code=code)
    if code in _SEND_LIMIT:
        return ProviderRejectedError(Rejection.SEND_LIMIT, provider_code=code)
    if code == 60202:
        return MaxChecksReachedError("max check attempts reached", provider_code=code)
    return ProviderUnavailableError(
        f"Twilio answered {status} with code {code}", provider_code=code or status
    )


class TwilioVerifyProvider:
    name = "twilio_verify"

    def __init__(
        self,
        client: Client,
        *,
        service_sid: str,
        timeout_seconds: float,
        on_error: ErrorRecorder | None = None,
        diagnostics_info: dict[str, Any] | None = None,
    ) -> None:
        self._client = client
        self._service = client.verify.v2.services(service_sid)
        self.service_sid_prefix = service_sid[:6]
        self._timeout = timeout_seconds
        self._on_error = on_error
        self._info = diagnostics_info or {}

    @classmethod
    def create(
        cls,
        *,
        username: str,
        password: str,
        account_sid: str,
        service_sid: str,
        timeout_seconds: float,
        api_base: str | None = None,
        on_error: ErrorRecorder | None = None,
        diagnostics_info: dict[str, Any] | None = None,
    ) -> TwilioVerifyProvider:
        """Builds the SDK client; call inside the running event loop (the lifespan)."""
        http_client = twilio_http_client(api_base, timeout=timeout_seconds)
        client = Client(username, password, account_sid, http_client=http_client)
        return cls(
            client,
            service_sid=service_sid,
            timeout_seconds=timeout_seconds,
            on_error=on_error,
            diagnostics_info=diagnostics_info,
        )

    async def close(self) -> None:
        await self._client.http_client.close()

    async def start(self, phone_e164: str, *, client_ip: str | None) -> str:
        instance = await self._call(
            "start", lambda: self._service.verifications.create_async(to=phone_e164, channel="sms")
        )
        verification_sid = str(instance.sid)
        logger.info(
            "otp verification started",
            extra={"service_sid_prefix": self.service_sid_prefix, "verification": verification_sid},
        )
        return verification_sid

    async def check(self, *, verification_id: str, code: str) -> bool:
        instance = await self._call(
            "check",
            lambda: self._service.verification_checks.create_async(
                verification_sid=verification_id, code=code
            ),
        )
        status = str(instance.status)
        if status == "approved":
            return True
        if status == "pending":
            return False
        # canceled / expired / max_attempts_reached in a 200 body: not a wrong code.
        logger.warning(
            "otp check returned an unexpected status",
            extra={"service_sid_prefix": self.service_sid_prefix, "verify_status": status},
        )
        if status == "max_attempts_reached":
            raise MaxChecksReachedError("max check attempts reached")
        raise VerificationNotFoundError(f"verification is {status}")

    async def status(self, verification_id: str) -> str:
        instance = await self._call(
            "fetch", lambda: self._service.verifications(verification_id).fetch_async()
        )
        return str(instance.status)

    async def cancel(self, verification_id: str) -> None:
        try:
            await self._call(
                "cancel",
                lambda: self._service.verifications(verification_id).update_async(
                    status="canceled"
                ),
            )
        except VerificationNotFoundError:
            return

    async def diagnostics(self) -> ProviderDiagnostics:
        details: dict[str, Any] = {**self._info, "service_sid_prefix": self.service_sid_prefix}
        try:
            await self._call("probe", lambda: self._service.fetch_async(), record=False)
        except ProviderMisconfiguredError as exc:
            details["service_accepted"] = False
            details["probe_error_code"] = exc.provider_code
        except ProviderError as exc:
            details["service_accepted"] = None
            details["probe_error_code"] = exc.provider_code
            details["probe_error"] = type(exc).__name__
        else:
            details["service_accepted"] = True
        return ProviderDiagnostics(provider=self.name, details=details)

    async def _call(self, operation: str, make_call: Any, *, record: bool = True) -> Any:
        for attempt in (1, 2):
            try:
                async with asyncio.timeout(self._timeout):
                    return await make_call()
            except TwilioException as exc:
                error = classify(exc, operation)
                if error.provider_code == _RETRY_THROTTLED and attempt == 1:
                    await asyncio.sleep(random.uniform(0.05, 0.25))
                    continue
                await self._log_failure(operation, error, getattr(exc, "status", None), record)
                raise error from None
            except TimeoutError:
                error = ProviderUnavailableError(f"Twilio {operation} timed out")
                await self._log_failure(operation, error, None, record, kind="timeout")
                raise error from None
            except aiohttp.ClientError as exc:
                error = ProviderUnavailableError(f"Twilio {operation} transport error")
                await self._log_failure(operation, error, None, record, kind=type(exc).__name__)
                raise error from None
        raise AssertionError("unreachable")

    async def _log_failure(
        self,
        operation: str,
        error: ProviderError,
        http_status: Any,
        record: bool,
        kind: str | None = None,
    ) -> None:
        label = str(error.provider_code) if error.provider_code is not None else (kind or "error")
        level = logging.ERROR if isinstance(error, ProviderMisconfiguredError) else logging.WARNING
        if isinstance(error, ProviderRejectedError | VerificationNotFoundError):
            level = logging.INFO
        logger.log(
            level,
            "twilio verify call failed",
            extra={
                "operation": operation,
                "outcome": type(error).__name__,
                "twilio_error_code": error.provider_code,
                "http_status": http_status,
                "transport_error": kind,
                "service_sid_prefix": self.service_sid_prefix,
            },
        )
        if record and self._on_error is not None:
            await self._on_error(operation, label)
