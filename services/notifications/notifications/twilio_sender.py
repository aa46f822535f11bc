"""``TwilioSmsSender``: Programmable Messaging through the real SDK's async API.

- Client and transport (``common.twilio_transport``) are built inside the running loop (the
  lifespan) and closed on shutdown; the SDK's own ``max_retries`` stays off (it re-POSTs a send
  on every 5xx): retries belong to the queue's schedule.
- Every call runs under ``asyncio.timeout`` (the use case's deadline) and the transport's own.
- A 429's ``Retry-After`` is only visible to the transport, so :class:`_ThrottleAwareTransport`
  raises :class:`SmsNotSent` with it before the SDK parses the answer.
- ``find`` looks an earlier attempt up: the messages sent to that number, newest first, matched by
  the delivery's reference mark in the body.
- Logs carry the HTTP status and Twilio's code, never the number, the body or Twilio's message.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from common.twilio_transport import TwilioTransport
from twilio.base.exceptions import TwilioException
from twilio.http.response import Response
from twilio.rest import Client

from notifications.sms_outcomes import (
    OutgoingSms,
    SentSms,
    SmsConfigurationError,
    SmsLookupFailed,
    SmsNotSent,
    SmsOutcomeUnknown,
    SmsRejected,
)
from notifications.sms_status import SendErrorClass, classify_send_error

logger = logging.getLogger(__name__)

logging.getLogger("twilio.async_http_client").setLevel(logging.WARNING)
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

CLOCK_SKEW = timedelta(minutes=5)


class _ThrottleAwareTransport(TwilioTransport):
    async def request(self, *args: Any, **kwargs: Any) -> Response:
        response: Response = await super().request(*args, **kwargs)
        if response.status_code == 429:
            raise SmsNotSent(
                http_status=429,
                code=20429,
                retry_after=_seconds(response.headers.get("Retry-After")),
            )
        return response


def _seconds(raw: str | None) -> float | None:
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def _number(value: Any) -> int | None:
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


class TwilioSmsSender:
    def __init__(
        self,
        client: Client,
        transport: TwilioTransport,
        *,
        messaging_service_sid: str | None,
        from_number: str | None,
        timeout_seconds: float,
        validity_seconds: int,
        lookup_limit: int,
    ) -> None:
        self._client = client
        self._transport = transport
        self._sender: dict[str, str] = (
            {"messaging_service_sid": messaging_service_sid}
            if messaging_service_sid
            else {"from_": str(from_number)}
        )
        self._timeout = timeout_seconds
        self._validity = validity_seconds
        self._lookup_limit = lookup_limit

    @classmethod
    def create(
        cls,
        *,
        account_sid: str,
        auth_token: str,
        api_base: str | None,
        messaging_service_sid: str | None,
        from_number: str | None,
        timeout_seconds: float,
        validity_seconds: int,
        lookup_limit: int,
    ) -> TwilioSmsSender:
        transport = _ThrottleAwareTransport(api_base or None, timeout=timeout_seconds)
        client = Client(account_sid, auth_token, account_sid, http_client=transport)
        return cls(
            client,
            transport,
            messaging_service_sid=messaging_service_sid,
            from_number=from_number,
            timeout_seconds=timeout_seconds,
            validity_seconds=validity_seconds,
            lookup_limit=lookup_limit,
        )

    async def close(self) -> None:
        await self._transport.close()

    async def send(self, sms: OutgoingSms) -> SentSms:
        options: dict[str, Any] = dict(self._sender)
        if sms.status_callback:
            options["status_callback"] = sms.status_callback
        try:
            async with asyncio.timeout(self._timeout + 1):
                message = await self._client.messages.create_async(
                    to=sms.to, body=sms.body, validity_period=self._validity, **options
                )
        except SmsNotSent:
            logger.warning(
                "twilio throttled a send", extra={"http_status": 429, "twilio_code": 20429}
            )
            raise
        except aiohttp.ClientConnectorError as exc:
            logger.warning("twilio unreachable", extra={"error": type(exc).__name__})
            raise SmsNotSent() from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            logger.warning("twilio send outcome unknown", extra={"error": type(exc).__name__})
            raise SmsOutcomeUnknown() from None
        except TwilioException as exc:
            raise _failure(exc) from None
        return SentSms(sid=str(message.sid), status=str(message.status or "accepted"))

    async def find(self, *, to: str, mark: str, since: datetime) -> SentSms | None:
        try:
            async with asyncio.timeout(self._timeout + 1):
                messages = await self._client.messages.list_async(to=to, limit=self._lookup_limit)
        except (TimeoutError, aiohttp.ClientError, TwilioException, SmsNotSent) as exc:
            logger.warning("twilio lookup failed", extra={"error": type(exc).__name__})
            raise SmsLookupFailed(type(exc).__name__) from None
        earliest = since - CLOCK_SKEW
        for message in messages:
            created = message.date_created
            if mark in (message.body or "") and (created is None or created >= earliest):
                return SentSms(sid=str(message.sid), status=str(message.status or "accepted"))
        return None


def _failure(exc: TwilioException) -> Exception:
    status = _number(getattr(exc, "status", None))
    code = _number(getattr(exc, "code", None))
    if code is not None and code == status:
        code = None  # a non-JSON error body: the SDK copies the HTTP status into ``code``
    kind = classify_send_error(status, code)
    logger.debug(  # the handler logs the attempt's outcome with the status and code
        "twilio refused a send",
        extra={"http_status": status, "twilio_code": code, "class": kind.value},
    )
    if kind is SendErrorClass.PERMANENT:
        return SmsRejected(http_status=status, code=code)
    if kind is SendErrorClass.CONFIGURATION:
        return SmsConfigurationError(http_status=status, code=code)
    if kind is SendErrorClass.TRANSIENT:
        return SmsNotSent(http_status=status, code=code)
    return SmsOutcomeUnknown(http_status=status, code=code)
