"""Keeps payments' projections of merchants and drivers from other services' events."""

from __future__ import annotations

from messaging.subscriber import Delivery

from payments import projections
from payments.contracts import MerchantCreatedV1, MerchantUpdatedV1, UserRegisteredV1
from payments.deps import PaymentsDeps
from payments.projections import MerchantView


async def on_merchant_changed(
    deps: PaymentsDeps,
    event: MerchantCreatedV1 | MerchantUpdatedV1,
    delivery: Delivery[PaymentsDeps],
) -> None:
    async with deps.uow() as tx:
        if not await deps.inbox.claim(tx, delivery.consumer, delivery.message_id):
            return
        await projections.upsert_merchant(
            tx,
            MerchantView(
                merchant_id=event.merchant_id,
                owner_user_id=event.owner_user_id,
                name=event.name,
                billing_amount_minor=event.billing_amount_minor,
                currency=event.currency,
                reward_nova=event.reward_nova,
                active=event.active,
            ),
            delivery.envelope.occurred_at,
        )


async def on_user_registered(
    deps: PaymentsDeps, event: UserRegisteredV1, delivery: Delivery[PaymentsDeps]
) -> None:
    """Drivers become known (grant targets) when they register."""
    if event.role != "driver":
        return
    async with deps.uow() as tx:
        if not await deps.inbox.claim(tx, delivery.consumer, delivery.message_id):
            return
        await projections.record_driver(tx, event.user_id)
