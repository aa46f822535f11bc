"""Helpers of the SMS tests: publish a send command, read deliveries, attempts and events."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aio_pika.abc import AbstractChannel
from messaging.envelope import Envelope
from notifications import tables
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from tests.fakes.twilio.control import TwilioControl
from tests.support.notifications_service import Notifications, publish


def random_phone() -> str:
    return f"+1415{secrets.randbelow(10_000_000):07d}"


def send_command(
    to: str,
    *,
    delivery_key: str | None = None,
    template: str = "merchant_arrival",
    reply_code: str | None = "4821",
    reference_id: str | None = None,
    message_id: uuid.UUID | None = None,
) -> Envelope:
    """The command as sessions publishes it."""
    return Envelope(
        message_id=message_id or uuid.uuid4(),
        type="notifications.sms.send.v1",
        producer="sessions",
        data={
            "delivery_key": delivery_key or f"session:{uuid.uuid4()}:arrival",
            "to": to,
            "template": template,
            "params": {
                "merchant_name": "Volta Coffee",
                "offer_title": "a free espresso",
                "offer_code": "K7Q2",
                "reply_code": reply_code or "",
            },
            "reference": {"kind": "session", "id": reference_id or str(uuid.uuid4())},
            "reply_code": reply_code,
        },
    )


async def send(channel: AbstractChannel, command: Envelope) -> str:
    await publish(channel, command, command=True)
    return str(command.data["delivery_key"])


@dataclass(frozen=True)
class Attempt:
    n: int
    outcome: str
    started_at: datetime
    message_sid: str | None
    error_code: int | None


async def delivery(service: Notifications, key: str) -> Any:
    t = tables.sms_deliveries
    async with service.engine.connect() as conn:
        return (await conn.execute(select(t).where(t.c.delivery_key == key))).first()


async def attempts(service: Notifications, key: str) -> list[Attempt]:
    t, dl = tables.sms_attempts, tables.sms_deliveries
    async with service.engine.connect() as conn:
        rows = await conn.execute(
            select(t.c.n, t.c.outcome, t.c.started_at, t.c.message_sid, t.c.error_code)
            .join(dl, dl.c.id == t.c.delivery_id)
            .where(dl.c.delivery_key == key)
            .order_by(t.c.n)
        )
        return [Attempt(*row) for row in rows]


async def events(service: Notifications, key: str) -> list[tuple[str, dict[str, Any]]]:
    """The events staged for ``key`` in the outbox, oldest first: (type, data)."""
    outbox = tables.messaging.outbox
    async with service.engine.connect() as conn:
        rows = await conn.execute(
            select(outbox.c.message_type, outbox.c.body).order_by(outbox.c.id)
        )
        found = []
        for message_type, body in rows:
            envelope = Envelope.from_bytes(body)
            if envelope.data.get("delivery_key") == key:
                found.append((message_type, envelope.data))
        return found


async def messages_to(fake_twilio: TwilioControl, phone: str) -> list[dict[str, Any]]:
    state = await fake_twilio.state()
    return [m for m in state["messages"] if m["to"] == phone and m["direction"] == "outbound-api"]


async def creates_to(fake_twilio: TwilioControl, phone: str) -> list[dict[str, Any]]:
    """The ``messages.create`` requests the fake received for ``phone`` (another test's sends,
    retried meanwhile on the shared queue, are left out)."""
    sent = await fake_twilio.requests("messages.create")
    return [r for r in sent if ["To", phone] in r["params"]]


PUBLIC_BASE = "https://api.nerava.test"


async def post_signed(
    service: Notifications,
    path: str,
    params: dict[str, str],
    *,
    auth_token: str,
    query: str = "",
    public_url: str | None = None,
    signature: str | None = None,
    sign: bool = True,
) -> Any:
    """POSTs a form as Twilio would through the gateway: signed (with the SDK's own validator)
    for the public URL, which the gateway passes in ``X-Nerava-Public-Url``."""
    url = public_url or f"{PUBLIC_BASE}{path}{'?' + query if query else ''}"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Nerava-Public-Url": url}
    if sign:
        headers["X-Twilio-Signature"] = signature or RequestValidator(auth_token).compute_signature(
            url, params
        )
    return await service.http.post(
        f"{path}{'?' + query if query else ''}", content=urlencode(params), headers=headers
    )


def status_params(
    fake_twilio: TwilioControl, sid: str, status: str, error_code: int | None = None
) -> dict[str, str]:
    params = {
        "AccountSid": fake_twilio.account_sid,
        "ApiVersion": "2010-04-01",
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "To": "+14155550100",
        "From": fake_twilio.config.from_number,
        "MessagingServiceSid": fake_twilio.config.messaging_service_sid,
    }
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
    return params
