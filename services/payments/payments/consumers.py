"""Subscribers of payments: decode with the reader model -> call a handler. No SQL, no commit."""

from __future__ import annotations

from messaging.subscriber import Delivery, Subscriptions

from payments import (
    billing_handlers,
    payout_execution,
    projection_handlers,
    reward_handlers,
    stripe_event_handlers,
)
from payments.contracts import (
    BillingChargeV1,
    MerchantCreatedV1,
    MerchantUpdatedV1,
    PayoutExecuteV1,
    SessionCompletedV1,
    StripeEventReceivedV1,
    UserRegisteredV1,
)
from payments.deps import PaymentsDeps
from payments.settings import BILLING_CHARGE_QUEUE as BILLING_QUEUE
from payments.settings import PAYOUTS_EXECUTE_QUEUE as PAYOUTS_QUEUE
from payments.settings import STRIPE_EVENTS_QUEUE

SESSION_COMPLETED_QUEUE = "payments.session_completed"
MERCHANTS_QUEUE = "payments.merchants"
USERS_QUEUE = "payments.users"
BILLING_CHARGE_QUEUE = BILLING_QUEUE
PAYOUTS_EXECUTE_QUEUE = PAYOUTS_QUEUE
MONEY_QUEUES = frozenset({SESSION_COMPLETED_QUEUE, BILLING_CHARGE_QUEUE, PAYOUTS_EXECUTE_QUEUE})
"""Queues whose replay moves money: the dead-letter replay guard checks the kill switches."""

subscriptions: Subscriptions[PaymentsDeps] = Subscriptions()


def _deps(delivery: Delivery[PaymentsDeps]) -> PaymentsDeps:
    return delivery.deps


@subscriptions.subscribe(SESSION_COMPLETED_QUEUE, events=[SessionCompletedV1.message_type])
async def on_session_completed(delivery: Delivery[PaymentsDeps]) -> None:
    event = delivery.read(SessionCompletedV1)
    await reward_handlers.on_session_completed(_deps(delivery), event, delivery)


@subscriptions.subscribe(BILLING_CHARGE_QUEUE, commands=[BillingChargeV1.message_type])
async def on_billing_charge(delivery: Delivery[PaymentsDeps]) -> None:
    command = delivery.read(BillingChargeV1)
    await billing_handlers.execute_charge(_deps(delivery), command.billing_event_id)


@subscriptions.subscribe(STRIPE_EVENTS_QUEUE, commands=[StripeEventReceivedV1.message_type])
async def on_stripe_event(delivery: Delivery[PaymentsDeps]) -> None:
    command = delivery.read(StripeEventReceivedV1)
    await stripe_event_handlers.process_event(_deps(delivery), command.event_id)


@subscriptions.subscribe(PAYOUTS_EXECUTE_QUEUE, commands=[PayoutExecuteV1.message_type])
async def on_payout_execute(delivery: Delivery[PaymentsDeps]) -> None:
    command = delivery.read(PayoutExecuteV1)
    await payout_execution.execute_payout(_deps(delivery), command.payout_id)


@subscriptions.subscribe(
    MERCHANTS_QUEUE,
    events=[MerchantCreatedV1.message_type, MerchantUpdatedV1.message_type],
)
async def on_merchant_changed(delivery: Delivery[PaymentsDeps]) -> None:
    event: MerchantCreatedV1 | MerchantUpdatedV1
    if delivery.envelope.type == MerchantCreatedV1.message_type:
        event = delivery.read(MerchantCreatedV1)
    else:
        event = delivery.read(MerchantUpdatedV1)
    await projection_handlers.on_merchant_changed(_deps(delivery), event, delivery)


@subscriptions.subscribe(USERS_QUEUE, events=[UserRegisteredV1.message_type])
async def on_user_registered(delivery: Delivery[PaymentsDeps]) -> None:
    event = delivery.read(UserRegisteredV1)
    await projection_handlers.on_user_registered(_deps(delivery), event, delivery)
