"""Builds the messages of a session's life from its record (one place for their fields)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sessions.contracts import (
    SESSION_REFERENCE_KIND,
    Reference,
    SendSmsV1,
    SessionActivatedV1,
    SessionArrivalReportedV1,
    SessionCancelledV1,
    SessionCompletedV1,
    SessionExpiredV1,
)
from sessions.records import BillingEvent, ExclusiveSession
from sessions.session_states import ConfirmedVia


class SmsTemplate:
    ARRIVAL = "merchant_arrival"
    RENOTIFY = "merchant_arrival_reminder"
    CONFIRMED = "merchant_session_confirmed"


class SmsPurpose:
    """The suffix of a delivery key: ``<session id>:<purpose>`` (one SMS per key)."""

    ARRIVAL = "arrival"
    RENOTIFY = "renotify"
    CONFIRMATION = "confirmation"


def reference(session: ExclusiveSession) -> Reference:
    return Reference(kind=SESSION_REFERENCE_KIND, id=str(session.id))


def activated(session: ExclusiveSession) -> SessionActivatedV1:
    return SessionActivatedV1(
        session_id=session.id,
        driver_id=session.user_id,
        merchant_id=session.merchant_id,
        charger_id=session.charger_id,
        expires_at=session.expires_at,
    )


def activating(
    *,
    session_id: uuid.UUID,
    driver_id: uuid.UUID,
    merchant_id: uuid.UUID,
    charger_id: uuid.UUID,
    expires_at: datetime,
) -> SessionActivatedV1:
    """The event of a session not inserted yet (``activation_statement`` stages it with the
    row's own ``expires_at``)."""
    return SessionActivatedV1(
        session_id=session_id,
        driver_id=driver_id,
        merchant_id=merchant_id,
        charger_id=charger_id,
        expires_at=expires_at,
    )


def arrival_reported(session: ExclusiveSession) -> SessionArrivalReportedV1:
    assert session.arrived_at is not None
    return SessionArrivalReportedV1(
        session_id=session.id,
        driver_id=session.user_id,
        merchant_id=session.merchant_id,
        reported_at=session.arrived_at,
    )


def merchant_sms(
    session: ExclusiveSession,
    *,
    purpose: str,
    template: str,
    to: str,
    merchant_name: str,
    offer_title: str,
) -> SendSmsV1:
    return SendSmsV1(
        delivery_key=f"{session.id}:{purpose}",
        to=to,
        template=template,
        params={
            "merchant_name": merchant_name,
            "offer_title": offer_title,
            "offer_code": session.offer_code,
            "reply_code": session.reply_code,
        },
        reference=reference(session),
        reply_code=session.reply_code if purpose != SmsPurpose.CONFIRMATION else None,
    )


def completed(session: ExclusiveSession, billing: BillingEvent) -> SessionCompletedV1:
    assert session.ended_at is not None and session.confirmed_via is not None
    return SessionCompletedV1(
        session_id=session.id,
        driver_id=session.user_id,
        merchant_id=session.merchant_id,
        billing_event_id=billing.id,
        amount_minor=billing.amount_minor,
        currency=billing.currency,
        reward_nova=session.reward_nova,
        confirmed_via=ConfirmedVia(session.confirmed_via).value,
        completed_at=session.ended_at,
    )


def expired(session: ExclusiveSession) -> SessionExpiredV1:
    return SessionExpiredV1(
        session_id=session.id,
        driver_id=session.user_id,
        merchant_id=session.merchant_id,
        at=session.ended_at or session.expires_at,
        reason=session.ended_reason or "timeout",
    )


def cancelled(session: ExclusiveSession, at: datetime | None = None) -> SessionCancelledV1:
    return SessionCancelledV1(
        session_id=session.id,
        driver_id=session.user_id,
        merchant_id=session.merchant_id,
        at=at or session.ended_at or session.updated_at,
        reason=session.ended_reason or "cancelled",
    )
