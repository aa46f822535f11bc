"""Examples of the messages sessions publishes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from messaging.contracts import AnalyticsEvent, Message
from sessions.contracts import (
    SESSION_REFERENCE_KIND,
    DealActivatedV1,
    MerchantCreatedV1,
    MerchantUpdatedV1,
    Reference,
    SendSmsV1,
    SessionActivatedV1,
    SessionArrivalReportedV1,
    SessionCancelledV1,
    SessionCompletedV1,
    SessionExpiredV1,
)

_AT = datetime(2026, 12, 1, 21, 30, tzinfo=UTC)
_SESSION = uuid.UUID("5d0c3f5e-8f7a-4a53-9a43-2a1f0f7d9c11")
_DRIVER = uuid.UUID("0b6a1c9e-3f57-4e0c-9d1e-6b7a2c4d8e10")
_MERCHANT = uuid.UUID("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")
_CHARGER = uuid.UUID("1f2e3d4c-5b6a-4978-8b6a-5c4d3e2f1a0b")
_MERCHANT_FIELDS = {
    "merchant_id": _MERCHANT,
    "owner_user_id": uuid.UUID("2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"),
    "name": "Blue Bottle",
    "billing_amount_minor": 250,
    "currency": "USD",
    "reward_nova": 10,
    "active": True,
}
_PARAMS = {
    "merchant_name": "Blue Bottle",
    "offer_title": "Free coffee",
    "offer_code": "K7Q2MX3A",
    "reply_code": "4821",
}
_REF = Reference(kind=SESSION_REFERENCE_KIND, id=str(_SESSION))
_ENDED = {"session_id": _SESSION, "driver_id": _DRIVER, "merchant_id": _MERCHANT, "at": _AT}

EXAMPLES: list[Message] = [
    MerchantCreatedV1(**_MERCHANT_FIELDS),
    MerchantUpdatedV1(**{**_MERCHANT_FIELDS, "active": False}),
    SessionActivatedV1(
        session_id=_SESSION,
        driver_id=_DRIVER,
        merchant_id=_MERCHANT,
        charger_id=_CHARGER,
        expires_at=_AT,
    ),
    SessionArrivalReportedV1(
        session_id=_SESSION, driver_id=_DRIVER, merchant_id=_MERCHANT, reported_at=_AT
    ),
    SendSmsV1(
        delivery_key=f"{_SESSION}:arrival",
        to="+14155550123",
        template="merchant_arrival",
        params=_PARAMS,
        reference=_REF,
        reply_code="4821",
    ),
    SendSmsV1(
        delivery_key=f"{_SESSION}:confirmation",
        to="+14155550123",
        template="merchant_session_confirmed",
        params=_PARAMS,
        reference=_REF,
        reply_code=None,
    ),
    SessionCompletedV1(
        session_id=_SESSION,
        driver_id=_DRIVER,
        merchant_id=_MERCHANT,
        billing_event_id=uuid.UUID("3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a"),
        amount_minor=250,
        currency="USD",
        reward_nova=10,
        confirmed_via="sms",
        completed_at=_AT,
    ),
    SessionExpiredV1(**_ENDED, reason="timeout"),
    SessionExpiredV1(**_ENDED, reason="merchant_no_response"),
    SessionCancelledV1(**_ENDED, reason="driver_cancelled"),
]

ANALYTICS_EXAMPLES: list[AnalyticsEvent] = [
    DealActivatedV1.of(
        _DRIVER,
        _AT,
        session_id=str(_SESSION),
        merchant_id=str(_MERCHANT),
        charger_id=str(_CHARGER),
    ),
]
