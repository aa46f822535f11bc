"""The messages the sessions service publishes (DESIGN §10, binding) and its readers of the
messages it consumes (its own models: extra fields ignored, only the fields it relies on).

No message carries a phone number, except ``notifications.sms.send``, whose job is to send one.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from messaging.contracts import AnalyticsEvent, Command, Contracts, Event, Reader
from pydantic import BaseModel, ConfigDict

SESSION_REFERENCE_KIND = "exclusive_session"


class Reference(BaseModel):
    """What an SMS is about: ``{"kind": "exclusive_session", "id": <session id>}``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: str
    id: str


# ---------------------------------------------------------------- published


class MerchantCreatedV1(Event):
    message_type: ClassVar[str] = "merchant.created.v1"
    merchant_id: UUID
    owner_user_id: UUID
    name: str
    billing_amount_minor: int
    currency: str
    reward_nova: int
    active: bool


class MerchantUpdatedV1(Event):
    message_type: ClassVar[str] = "merchant.updated.v1"
    merchant_id: UUID
    owner_user_id: UUID
    name: str
    billing_amount_minor: int
    currency: str
    reward_nova: int
    active: bool


class SessionActivatedV1(Event):
    message_type: ClassVar[str] = "session.activated.v1"
    session_id: UUID
    driver_id: UUID
    merchant_id: UUID
    charger_id: UUID
    expires_at: datetime


class SessionArrivalReportedV1(Event):
    message_type: ClassVar[str] = "session.arrival_reported.v1"
    session_id: UUID
    driver_id: UUID
    merchant_id: UUID
    reported_at: datetime


class SendSmsV1(Command):
    """To the notifications service (queue ``notifications.sms.send``): one SMS per
    ``delivery_key``, to the merchant's notification phone."""

    message_type: ClassVar[str] = "notifications.sms.send.v1"
    delivery_key: str
    to: str
    template: str
    params: dict[str, str]
    reference: Reference
    reply_code: str | None = None


class SessionCompletedV1(Event):
    message_type: ClassVar[str] = "session.completed.v1"
    session_id: UUID
    driver_id: UUID
    merchant_id: UUID
    billing_event_id: UUID
    amount_minor: int
    currency: str
    reward_nova: int
    confirmed_via: Literal["sms", "merchant_api", "admin"]
    completed_at: datetime


class SessionExpiredV1(Event):
    message_type: ClassVar[str] = "session.expired.v1"
    session_id: UUID
    driver_id: UUID
    merchant_id: UUID
    at: datetime
    reason: str


class SessionCancelledV1(Event):
    message_type: ClassVar[str] = "session.cancelled.v1"
    session_id: UUID
    driver_id: UUID
    merchant_id: UUID
    at: datetime
    reason: str


PUBLISHES = Contracts(
    "sessions",
    [
        MerchantCreatedV1,
        MerchantUpdatedV1,
        SessionActivatedV1,
        SessionArrivalReportedV1,
        SendSmsV1,
        SessionCompletedV1,
        SessionExpiredV1,
        SessionCancelledV1,
    ],
)

# ---------------------------------------------------------------- consumed (readers)


class _SmsStatusFields(BaseModel):
    """The fields of ``notification.sms_*.v1`` this service relies on."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    delivery_key: str
    reference: Reference | None = None
    status: str | None = None
    error_code: str | int | None = None
    at: datetime | None = None


class SmsSentReader(_SmsStatusFields, Reader):
    message_type: ClassVar[str] = "notification.sms_sent.v1"


class SmsDeliveredReader(_SmsStatusFields, Reader):
    message_type: ClassVar[str] = "notification.sms_delivered.v1"


class SmsFailedReader(_SmsStatusFields, Reader):
    message_type: ClassVar[str] = "notification.sms_failed.v1"
    permanent: bool = False


SmsStatusReader = SmsSentReader | SmsDeliveredReader | SmsFailedReader


class SmsReplyReceivedReader(Reader):
    message_type: ClassVar[str] = "sms.reply_received.v1"
    message_sid: str
    reference: Reference | None = None
    keyword: str
    reply_code: str | None = None
    received_at: datetime | None = None


class DealActivatedV1(AnalyticsEvent):
    """A driver activated a merchant's deal (properties: ``session_id``, ``merchant_id``,
    ``charger_id``); sent only when the activation created the session."""

    message_type: ClassVar[str] = "analytics.deal_activated.v1"


ANALYTICS = Contracts("sessions", [DealActivatedV1])
