"""Examples of the messages notifications publishes."""

from __future__ import annotations

from datetime import UTC, datetime

from messaging.contracts import Message
from notifications.contracts import (
    Reference,
    ResendSmsV1,
    SmsDeliveredV1,
    SmsFailedV1,
    SmsReplyReceivedV1,
    SmsSentV1,
)

_REF = Reference(kind="session", id="5d0c3f5e-8f7a-4a53-9a43-2a1f0f7d9c11")
_KEY = "5d0c3f5e-8f7a-4a53-9a43-2a1f0f7d9c11:arrival"
_AT = datetime(2026, 12, 1, 21, 30, tzinfo=UTC)

EXAMPLES: list[Message] = [
    SmsSentV1(delivery_key=_KEY, reference=_REF, status="accepted", at=_AT),
    ResendSmsV1(delivery_key=_KEY, resend=1),
    SmsDeliveredV1(delivery_key=_KEY, reference=_REF, status="delivered", at=_AT),
    SmsFailedV1(
        delivery_key=_KEY,
        reference=_REF,
        status="undelivered",
        error_code=30006,
        permanent=True,
        at=_AT,
    ),
    SmsFailedV1(
        delivery_key=_KEY,
        reference=_REF,
        status="dead_lettered",
        error_code=None,
        permanent=False,
        at=_AT,
    ),
    SmsReplyReceivedV1(
        message_sid="SM" + "0" * 32,
        reference=_REF,
        keyword="done",
        reply_code="4821",
        received_at=_AT,
    ),
    SmsReplyReceivedV1(
        message_sid="SM" + "1" * 32,
        reference=None,
        keyword="other",
        reply_code=None,
        received_at=_AT,
    ),
]
