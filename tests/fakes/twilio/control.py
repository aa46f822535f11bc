"""``TwilioControl``: the test-side handle on a fake Twilio (admin API + SDK client factory)."""

from __future__ import annotations

from typing import Any

import aiohttp
from common.twilio_transport import twilio_http_client
from twilio.rest import Client

from tests.fakes.core.control import AdminError, FakeControl
from tests.fakes.twilio.config import TwilioFakeConfig


class TwilioControl(FakeControl):
    def __init__(self, url: str, session: aiohttp.ClientSession, config: TwilioFakeConfig) -> None:
        super().__init__(url, session)
        self.config = config

    @property
    def account_sid(self) -> str:
        return self.config.account_sid

    @property
    def auth_token(self) -> str:
        return self.config.auth_token

    @property
    def verify_service_sid(self) -> str:
        return self.config.verify_service_sid

    def client(self, *, api_key: bool = False, password: str | None = None) -> Client:
        """A real ``twilio.rest.Client`` whose async HTTP client goes to this fake.

        Close it with ``await client.http_client.close()``.
        """
        if api_key:
            user, secret = self.config.api_key_sid, self.config.api_key_secret
        else:
            user, secret = self.config.account_sid, self.config.auth_token
        return Client(
            user,
            password if password is not None else secret,
            self.config.account_sid,
            http_client=twilio_http_client(self.url),
        )

    async def verification(self, phone: str) -> dict[str, Any]:
        """The latest verification started for ``phone``, including the code the fake sent."""
        found: dict[str, Any] = await self._admin("GET", "verify/code", query={"to": phone})
        return found

    async def last_code_for(self, phone: str) -> str:
        """The code the fake "sent" to ``phone`` (raises when nothing was sent)."""
        try:
            return str((await self.verification(phone))["code"])
        except AdminError as exc:
            raise LookupError(f"no verification code was sent to {phone}") from exc

    # ---- messaging
    async def fail_delivery(
        self,
        *,
        status: str = "undelivered",
        error_code: int = 30003,
        times: int | None = 1,
        to: str | None = None,
    ) -> dict[str, Any]:
        """Make the next ``times`` messages (to ``to``, if given) end ``failed``/``undelivered``."""
        if status not in ("failed", "undelivered"):
            raise ValueError("status must be 'failed' or 'undelivered'")
        return await self.add_fault(
            kind="delivery_failure",
            endpoint="messages.create",
            error_type=status,
            code=error_code,
            times=times,
            match={"To": to} if to else {},
        )

    async def messages(self) -> list[dict[str, Any]]:
        """Every message the fake holds (outbound and inbound), with its status ``history``."""
        rows: list[dict[str, Any]] = (await self.state())["messages"]
        return rows

    async def webhook_deliveries(self) -> list[dict[str, Any]]:
        """Every status callback / inbound webhook POST the fake made, with the answer it got."""
        rows: list[dict[str, Any]] = (await self.state())["webhook_deliveries"]
        return rows

    async def send_inbound_sms(
        self,
        *,
        from_: str,
        body: str,
        to: str | None = None,
        url: str | None = None,
        times: int = 1,
    ) -> dict[str, Any]:
        """POST a signed inbound SMS to ``url`` (default: the configured inbound webhook URL).

        ``times`` > 1 replays the same message (same MessageSid and idempotency token).
        Returns ``{"message_sid", "deliveries": [{"status", "response_body", "error", ...}]}``.
        """
        spec: dict[str, Any] = {"from": from_, "body": body, "times": times}
        if to:
            spec["to"] = to
        if url:
            spec["url"] = url
        result: dict[str, Any] = await self._admin("POST", "inbound-sms", spec)
        return result
