"""Examples of the messages payments publishes."""

from __future__ import annotations

import uuid

from messaging.contracts import Message
from payments.contracts import (
    BillingChargeV1,
    MerchantBilledV1,
    MerchantBillingFailedV1,
    PayoutExecuteV1,
    PayoutFailedV1,
    PayoutSucceededV1,
    PayoutUnknownV1,
    RewardCreditedV1,
    StripeEventReceivedV1,
)

EXAMPLES: list[Message] = [
    RewardCreditedV1(
        session_id=uuid.uuid4(),
        driver_id=uuid.uuid4(),
        nova=15,
        ledger_transaction_id=uuid.uuid4(),
    ),
    BillingChargeV1(billing_event_id=uuid.uuid4()),
    StripeEventReceivedV1(event_id="evt_1Example000000000000001"),
    MerchantBilledV1(
        billing_event_id=uuid.uuid4(),
        merchant_id=uuid.uuid4(),
        amount_minor=250,
        currency="usd",
        stripe_payment_intent_id="pi_3Example0000000001",
    ),
    MerchantBillingFailedV1(
        billing_event_id=uuid.uuid4(),
        merchant_id=uuid.uuid4(),
        amount_minor=250,
        currency="usd",
        stripe_payment_intent_id="pi_3Example0000000002",
        error_code="authentication_required",
    ),
    PayoutExecuteV1(payout_id=uuid.uuid4()),
    PayoutSucceededV1(
        payout_id=uuid.uuid4(),
        driver_id=uuid.uuid4(),
        amount_minor=400,
        currency="usd",
        nova=400,
        stripe_transfer_id="tr_1Example0000000001",
    ),
    PayoutFailedV1(
        payout_id=uuid.uuid4(),
        driver_id=uuid.uuid4(),
        amount_minor=400,
        currency="usd",
        nova=400,
        error_code="balance_insufficient",
    ),
    PayoutUnknownV1(
        payout_id=uuid.uuid4(),
        driver_id=uuid.uuid4(),
        amount_minor=400,
        currency="usd",
        nova=400,
        error_code="http_500",
    ),
]
