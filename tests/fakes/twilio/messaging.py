"""Programmable Messaging: create, fetch and list messages; status callbacks; inbound SMS.

A created message answers 201 ``status="queued"``; then, in the background, the fake POSTs signed
status callbacks (``sent`` then ``delivered``) to the message's ``StatusCallback`` or the
configured ``status_callback_url``. A ``delivery_failure`` fault (``error_type`` = ``failed`` or
``undelivered``, ``code`` = Twilio ErrorCode, default 30003) makes the next message end that way,
with ``ErrorCode`` in the callback and on the resource.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.core.faults import FaultBook
from tests.fakes.core.provider import Call, json_response
from tests.fakes.core.runtime import BackgroundTasks, FakeClock, Pauses
from tests.fakes.twilio.config import TwilioFakeConfig
from tests.fakes.twilio.errors import TwilioApiError, not_found
from tests.fakes.twilio.webhooks import Delivery, deliver

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
API_VERSION = "2010-04-01"
MAX_BODY = 1600
ERROR_MESSAGES = {
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
}


def rfc2822(ts: float) -> str:
    return formatdate(ts, usegmt=False).replace("-0000", "+0000")


@dataclass
class Message:
    sid: str
    to: str
    from_: str
    body: str
    direction: str
    created: float
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    status: str = "queued"
    error_code: int | None = None
    sent: float | None = None
    updated: float = 0.0
    history: list[str] = field(default_factory=list)


class MessagingFake:
    def __init__(
        self,
        config: TwilioFakeConfig,
        *,
        clock: FakeClock,
        faults: FaultBook,
        tasks: BackgroundTasks,
        pauses: Pauses,
    ) -> None:
        self.config = config
        self.clock = clock
        self.faults = faults
        self.tasks = tasks
        self.pauses = pauses
        self.messages: dict[str, Message] = {}
        self.deliveries: list[Delivery] = []
        self._session: aiohttp.ClientSession | None = None

    def reset(self) -> None:
        self.messages.clear()
        self.deliveries.clear()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    # ---- resources
    def resource(self, m: Message) -> dict[str, Any]:
        base = f"/{API_VERSION}/Accounts/{self.config.account_sid}/Messages/{m.sid}"
        return {
            "account_sid": self.config.account_sid,
            "api_version": API_VERSION,
            "body": m.body,
            "date_created": rfc2822(m.created),
            "date_sent": rfc2822(m.sent) if m.sent else None,
            "date_updated": rfc2822(m.updated or m.created),
            "direction": m.direction,
            "error_code": m.error_code,
            "error_message": ERROR_MESSAGES.get(m.error_code or 0) if m.error_code else None,
            "from": m.from_,
            "messaging_service_sid": m.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(max(1, -(-len(m.body) // 153))),
            "price": "-0.00790" if m.sent else None,
            "price_unit": "USD",
            "sid": m.sid,
            "status": m.status,
            "subresource_uris": {
                "media": f"{base}/Media.json",
                "feedback": f"{base}/Feedback.json",
            },
            "to": m.to,
            "uri": f"{base}.json",
        }

    def admin_json(self) -> dict[str, Any]:
        return {
            "messages": [
                {**self.resource(m), "history": m.history} for m in self.messages.values()
            ],
            "webhook_deliveries": [d.to_json() for d in self.deliveries],
        }

    # ---- endpoints
    async def create(self, call: Call, now: float) -> web.Response:
        p = call.params
        to = p.get("To", "")
        if not to:
            raise TwilioApiError(400, 21604, "A 'To' phone number is required.")
        if not E164.match(to):
            raise TwilioApiError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        from_ = p.get("From")
        service_sid = p.get("MessagingServiceSid")
        if not from_ and not service_sid:
            raise TwilioApiError(400, 21603)
        if service_sid and service_sid != self.config.messaging_service_sid:
            raise TwilioApiError(400, 21701, f"The Messaging Service Sid {service_sid} is invalid.")
        if from_ and from_ != self.config.from_number:
            raise TwilioApiError(
                400,
                21606,
                f"The From phone number {from_} is not a valid, SMS-capable inbound phone number"
                " or short code for your account.",
            )
        body = p.get("Body", "")
        if not body and not call.all("MediaUrl"):
            raise TwilioApiError(400, 21602)
        if len(body) > MAX_BODY:
            raise TwilioApiError(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        message = Message(
            sid="SM" + secrets.token_hex(16),
            to=to,
            from_=from_ or self.config.from_number,
            body=body,
            direction="outbound-api",
            created=now,
            messaging_service_sid=service_sid,
            status_callback=p.get("StatusCallback") or self.config.status_callback_url,
            status="accepted" if service_sid and not from_ else "queued",
        )
        message.history.append(message.status)
        self.messages[message.sid] = message
        outcome = self.faults.take_outcome("delivery_failure", "messages.create", p)
        final, error_code = "delivered", None
        if outcome is not None:
            final = (
                outcome.error_type
                if outcome.error_type in ("failed", "undelivered")
                else ("undelivered")
            )
            error_code = int(outcome.code) if outcome.code is not None else 30003
        self.tasks.spawn(self._progress(message, final, error_code))
        return json_response(self.resource(message), status=201)

    def _find(self, call: Call) -> Message:
        message = self.messages.get(call.request.match_info["sid"])
        if message is None:
            raise not_found(call.request.path.removeprefix("/api"))
        return message

    async def fetch(self, call: Call, now: float) -> web.Response:
        return json_response(self.resource(self._find(call)))

    async def list_messages(self, call: Call, now: float) -> web.Response:
        p = call.params
        rows = [
            m
            for m in reversed(self.messages.values())
            if (not p.get("To") or m.to == p["To"]) and (not p.get("From") or m.from_ == p["From"])
        ]
        size = max(1, min(1000, int(p.get("PageSize", "50"))))
        uri = f"/{API_VERSION}/Accounts/{self.config.account_sid}/Messages.json"
        return json_response(
            {
                "messages": [self.resource(m) for m in rows[:size]],
                "start": 0,
                "end": max(0, min(size, len(rows)) - 1),
                "page": 0,
                "page_size": size,
                "first_page_uri": f"{uri}?PageSize={size}&Page=0",
                "next_page_uri": None,
                "previous_page_uri": None,
                "uri": f"{uri}?PageSize={size}&Page=0",
            }
        )

    # ---- status progression and callbacks
    def _set_status(self, message: Message, status: str, error_code: int | None = None) -> None:
        now = self.clock.now()
        message.status = status
        message.updated = now
        message.history.append(status)
        if status in ("sent", "delivered", "undelivered") and message.sent is None:
            message.sent = now
        if error_code is not None:
            message.error_code = error_code

    async def _progress(self, message: Message, final: str, error_code: int | None) -> None:
        steps: list[tuple[str, int | None]] = [("sent", None), (final, error_code)]
        if final == "failed":
            steps = [("failed", error_code)]
        for status, code in steps:
            if self.config.callback_delay_seconds:
                await self.pauses.sleep(self.config.callback_delay_seconds)
            self._set_status(message, status, code)
            if message.status_callback:
                await self._callback(message, status, code)

    async def _callback(self, message: Message, status: str, error_code: int | None) -> None:
        assert message.status_callback is not None
        params = {
            "AccountSid": self.config.account_sid,
            "ApiVersion": API_VERSION,
            "From": message.from_,
            "To": message.to,
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "MessageStatus": status,
            "SmsStatus": status,
        }
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        delivery = Delivery(kind="status_callback", url=message.status_callback, params=params)
        self.deliveries.append(delivery)
        await deliver(
            self.session(),
            delivery,
            auth_token=self.config.auth_token,
            sign_url=self.config.signature_url_override,
        )

    async def inbound(
        self,
        *,
        from_: str,
        body: str,
        to: str | None = None,
        url: str | None = None,
        times: int = 1,
    ) -> dict[str, Any]:
        """Simulate an SMS arriving at our number: POST it (``times`` times) to the webhook."""
        target = url or self.config.inbound_webhook_url
        if not target:
            raise ValueError("no inbound webhook URL: pass url or configure inbound_webhook_url")
        if not E164.match(from_):
            raise ValueError(f"from must be an E.164 number, got {from_!r}")
        to = to or self.config.from_number
        sid = "SM" + secrets.token_hex(16)
        now = self.clock.now()
        message = Message(sid=sid, to=to, from_=from_, body=body, direction="inbound", created=now)
        message.status = "received"
        message.history.append("received")
        self.messages[sid] = message
        params = {
            "ToCountry": "US",
            "ToState": "CA",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "ToCity": "",
            "FromZip": "",
            "SmsSid": sid,
            "FromState": "",
            "SmsStatus": "received",
            "FromCity": "",
            "Body": body,
            "FromCountry": "US",
            "To": to,
            "ToZip": "",
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": self.config.account_sid,
            "From": from_,
            "ApiVersion": API_VERSION,
        }
        first = Delivery(kind="inbound", url=target, params=params)
        results = []
        for _ in range(times):
            delivery = Delivery(
                kind="inbound", url=target, params=params, idempotency_token=first.idempotency_token
            )
            self.deliveries.append(delivery)
            await deliver(
                self.session(),
                delivery,
                auth_token=self.config.auth_token,
                sign_url=self.config.signature_url_override,
            )
            results.append(delivery.to_json())
        return {"message_sid": sid, "deliveries": results}
