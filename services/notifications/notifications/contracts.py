"""The messages notifications publishes (versioned) and its readers of the messages it consumes.

A reader names only the fields this service relies on; anything else the publisher sends is
ignored, so a publisher may add fields freely. ``tests/contract`` pairs each reader with the
publisher's own class, so a rename or a type change on either side fails there first.
No published message carries a phone number or a message body.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal
from uuid import UUID

from messaging.contracts import Command, Contracts, Event, Reader
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Reference(BaseModel):
    """What an SMS is about, in the words of the service that asked for it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: str = Field(min_length=1, max_length=64)
    id: str = Field(min_length=1, max_length=128)


# ---- readers of consumed messages


class UserConsentChanged(Reader):
    """Reader of auth's ``user.consent_changed.v1``: the projection keeps analytics consent."""

    message_type: ClassVar[str] = "user.consent_changed.v1"
    user_id: UUID
    analytics: bool
    changed_at: AwareDatetime


class SendSms(Reader):
    """Reader of the ``notifications.sms.send`` command (queue ``notifications.sms.send``).

    ``delivery_key`` is the idempotency key: one SMS per key, however often the command comes.
    ``to`` is checked by the handler (an invalid number is a permanent failure, reported)."""

    message_type: ClassVar[str] = "notifications.sms.send.v1"
    delivery_key: str = Field(min_length=1, max_length=200)
    to: str = Field(min_length=1, max_length=32)
    template: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)
    reference: Reference
    reply_code: str | None = Field(default=None, max_length=16)


class AnalyticsEvent(BaseModel):
    """Reader of every ``analytics.<name>`` event (any service, through its lossy publisher)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    user_id: UUID | None = None
    name: str = Field(min_length=1, max_length=200)
    properties: dict[str, Any] = Field(default_factory=dict)
    occurred_at: AwareDatetime


# ---- published


class _SmsOutcome(Event):
    delivery_key: str
    reference: Reference
    status: str
    error_code: int | None = None
    at: AwareDatetime


class SmsSentV1(_SmsOutcome):
    """Twilio accepted the message (it is on its way; delivery is reported separately)."""

    message_type: ClassVar[str] = "notification.sms_sent.v1"


class SmsDeliveredV1(_SmsOutcome):
    message_type: ClassVar[str] = "notification.sms_delivered.v1"


class SmsFailedV1(_SmsOutcome):
    """``permanent``: no retry will help (invalid or opted-out number, a final carrier code, or
    the re-sends of an undelivered SMS ran out). Not permanent: the retries ran out; ops may
    still replay the command from the DLQ."""

    message_type: ClassVar[str] = "notification.sms_failed.v1"
    permanent: bool


ReplyKeyword = Literal["done", "stop", "help", "other"]


class SmsReplyReceivedV1(Event):
    """An inbound SMS; ``reference`` is the delivery it answers (None when none matched)."""

    message_type: ClassVar[str] = "sms.reply_received.v1"
    message_sid: str
    reference: Reference | None
    keyword: ReplyKeyword
    reply_code: str | None = None
    received_at: AwareDatetime


class ResendSmsV1(Command):
    """notifications' own command (queue ``notifications.sms.resend``): send delivery
    ``delivery_key`` once more, its ``resend``-th re-send, after Twilio reported the message
    undelivered with a retryable carrier code. Staged with the delay of that re-send's tier;
    carries no phone and no body (the worker reloads the delivery)."""

    message_type: ClassVar[str] = "notifications.sms.resend.v1"
    delivery_key: str = Field(min_length=1, max_length=200)
    resend: int = Field(ge=1)


PUBLISHES = Contracts(
    "notifications",
    [SmsSentV1, SmsDeliveredV1, SmsFailedV1, SmsReplyReceivedV1, ResendSmsV1],
)
