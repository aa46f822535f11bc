"""Payments' messages against DESIGN §10: what it publishes and what it reads from sessions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from payments.contracts import (
    PUBLISHES,
    MerchantCreatedV1,
    MerchantUpdatedV1,
    RewardCreditedV1,
    SessionCompletedV1,
)


def test_payments_publishes_reward_credited_with_the_catalogue_fields() -> None:
    assert [m.message_type for m in PUBLISHES] == [
        "reward.credited.v1",
        "payments.billing.charge.v1",
        "payments.stripe_events.process.v1",
        "merchant.billed.v1",
        "merchant.billing_failed.v1",
        "payments.payouts.execute.v1",
        "payout.succeeded.v1",
        "payout.failed.v1",
        "payout.unknown.v1",
    ]
    assert set(RewardCreditedV1.model_fields) == {
        "session_id",
        "driver_id",
        "nova",
        "ledger_transaction_id",
    }


def test_readers_accept_the_catalogue_fields_and_ignore_extras() -> None:
    now = datetime.now(UTC).isoformat()
    completed = SessionCompletedV1.model_validate(
        {
            "session_id": str(uuid.uuid4()),
            "driver_id": str(uuid.uuid4()),
            "merchant_id": str(uuid.uuid4()),
            "billing_event_id": str(uuid.uuid4()),
            "amount_minor": 250,
            "currency": "usd",
            "reward_nova": 10,
            "confirmed_via": "merchant_api",
            "completed_at": now,
            "added_later": True,
        }
    )
    assert completed.reward_nova == 10
    facts = {
        "merchant_id": str(uuid.uuid4()),
        "owner_user_id": str(uuid.uuid4()),
        "name": "Cafe",
        "billing_amount_minor": 250,
        "currency": "usd",
        "reward_nova": 10,
        "active": True,
        "extra": 1,
    }
    assert MerchantCreatedV1.model_validate(facts).active is True
    assert MerchantUpdatedV1.model_validate(facts).message_type == "merchant.updated.v1"
