"""Messages payments publishes (versioned) and reader models of those it consumes (DESIGN §10).

Readers ignore fields they do not know; the fields listed are what the publisher guarantees.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from messaging.contracts import Command, Contracts, Event, Reader
from pydantic import Field


class RewardCreditedV1(Event):
    message_type: ClassVar[str] = "reward.credited.v1"
    session_id: uuid.UUID
    driver_id: uuid.UUID
    nova: int
    ledger_transaction_id: uuid.UUID


class BillingChargeV1(Command):
    """payments → payments: execute the charge of one billing event (the worker reloads it)."""

    message_type: ClassVar[str] = "payments.billing.charge.v1"
    billing_event_id: uuid.UUID


class StripeEventReceivedV1(Command):
    """payments → payments: process one stored Stripe event (the worker reloads it)."""

    message_type: ClassVar[str] = "payments.stripe_events.process.v1"
    event_id: str = Field(pattern=r"^evt_[A-Za-z0-9_]+$", max_length=255)


class MerchantBilledV1(Event):
    message_type: ClassVar[str] = "merchant.billed.v1"
    billing_event_id: uuid.UUID
    merchant_id: uuid.UUID
    amount_minor: int
    currency: str
    stripe_payment_intent_id: str
    error_code: str | None = None
    """Always None here; the catalogue lists one field set for billed and billing_failed."""


class MerchantBillingFailedV1(Event):
    message_type: ClassVar[str] = "merchant.billing_failed.v1"
    billing_event_id: uuid.UUID
    merchant_id: uuid.UUID
    amount_minor: int
    currency: str
    stripe_payment_intent_id: str | None
    error_code: str


class PayoutExecuteV1(Command):
    """payments → payments: phase 2 of one payout (the worker reloads it and its request)."""

    message_type: ClassVar[str] = "payments.payouts.execute.v1"
    payout_id: uuid.UUID


class PayoutSucceededV1(Event):
    """The transfer exists (created, or found by the reconciler or a webhook)."""

    message_type: ClassVar[str] = "payout.succeeded.v1"
    payout_id: uuid.UUID
    driver_id: uuid.UUID
    amount_minor: int
    currency: str
    nova: int
    stripe_transfer_id: str


class PayoutFailedV1(Event):
    """No transfer exists and none can appear; the Nova went back to the wallet."""

    message_type: ClassVar[str] = "payout.failed.v1"
    payout_id: uuid.UUID
    driver_id: uuid.UUID
    amount_minor: int
    currency: str
    nova: int
    error_code: str


class PayoutUnknownV1(Event):
    """Stripe may have acted; the reconciler settles it (the Nova stays in clearing)."""

    message_type: ClassVar[str] = "payout.unknown.v1"
    payout_id: uuid.UUID
    driver_id: uuid.UUID
    amount_minor: int
    currency: str
    nova: int
    error_code: str | None = None


PUBLISHES = Contracts(
    "payments",
    [
        RewardCreditedV1,
        BillingChargeV1,
        StripeEventReceivedV1,
        MerchantBilledV1,
        MerchantBillingFailedV1,
        PayoutExecuteV1,
        PayoutSucceededV1,
        PayoutFailedV1,
        PayoutUnknownV1,
    ],
)


# Readers (published by sessions).


class SessionCompletedV1(Reader):
    message_type: ClassVar[str] = "session.completed.v1"
    session_id: uuid.UUID
    driver_id: uuid.UUID
    merchant_id: uuid.UUID
    billing_event_id: uuid.UUID
    amount_minor: int = Field(ge=0)
    currency: str
    reward_nova: int = Field(ge=0)
    confirmed_via: Literal["sms", "merchant_api", "admin"] | str
    completed_at: datetime


class _MerchantFacts(Reader):
    merchant_id: uuid.UUID
    owner_user_id: uuid.UUID
    name: str
    billing_amount_minor: int = Field(ge=0)
    currency: str
    reward_nova: int = Field(ge=0)
    active: bool


class MerchantCreatedV1(_MerchantFacts):
    message_type: ClassVar[str] = "merchant.created.v1"


class MerchantUpdatedV1(_MerchantFacts):
    message_type: ClassVar[str] = "merchant.updated.v1"


class UserRegisteredV1(Reader):
    """Published by auth."""

    message_type: ClassVar[str] = "user.registered.v1"
    user_id: uuid.UUID
    role: str
    registered_at: datetime
