"""The Stripe port as webhook handlers get it: every POST re-checks the kill switches first.

A webhook handler may re-fetch freely (reads pass through), but a POST it makes — a reversal, a
customer update — first asks the kill switches: ``BLOCK_ALL_MONEY_MOVEMENT`` stops them all, and
``PAYOUTS_ENABLED`` off stops transfers and their reversals. The refusal is
``MoneyMovementDisabledError`` (503, transient): the event is marked failed and retried on its
schedule, so it is held, not dropped, until the switch reopens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from payments.deps import KillSwitchCheck
from payments.kill_switches import Operation
from payments.stripe_objects import (
    StripeAccountLink,
    StripeApi,
    StripeConnectedAccount,
    StripeCustomer,
    StripeEvent,
    StripePaymentIntent,
    StripePaymentMethod,
    StripeTransfer,
    StripeTransferReversal,
)
from payments.stripe_requests import StripeRequest


class MoneyGuardedStripe:
    def __init__(self, stripe: StripeApi, kill_switches: KillSwitchCheck) -> None:
        self._stripe = stripe
        self._switches = kill_switches

    async def _allow(self, operation: Operation) -> None:
        await self._switches.require(operation)

    async def wait_for_turn(self) -> None:
        await self._stripe.wait_for_turn()

    # ---- POSTs: the kill switches first
    async def create_customer(self, request: StripeRequest) -> StripeCustomer:
        await self._allow(Operation.BILLING)
        return await self._stripe.create_customer(request)

    async def attach_payment_method(self, request: StripeRequest) -> StripePaymentMethod:
        await self._allow(Operation.BILLING)
        return await self._stripe.attach_payment_method(request)

    async def set_default_payment_method(self, request: StripeRequest) -> StripeCustomer:
        await self._allow(Operation.BILLING)
        return await self._stripe.set_default_payment_method(request)

    async def charge_off_session(self, request: StripeRequest) -> StripePaymentIntent:
        await self._allow(Operation.BILLING)
        return await self._stripe.charge_off_session(request)

    async def create_connected_account(self, request: StripeRequest) -> StripeConnectedAccount:
        await self._allow(Operation.PAYOUT)
        return await self._stripe.create_connected_account(request)

    async def create_account_link(self, request: StripeRequest) -> StripeAccountLink:
        await self._allow(Operation.PAYOUT)
        return await self._stripe.create_account_link(request)

    async def create_transfer(self, request: StripeRequest) -> StripeTransfer:
        await self._allow(Operation.PAYOUT)
        return await self._stripe.create_transfer(request)

    async def reverse_transfer(self, request: StripeRequest) -> StripeTransferReversal:
        await self._allow(Operation.PAYOUT)
        return await self._stripe.reverse_transfer(request)

    # ---- reads: as they are
    async def retrieve_customer(self, customer_id: str) -> StripeCustomer:
        return await self._stripe.retrieve_customer(customer_id)

    async def retrieve_payment_intent(self, payment_intent_id: str) -> StripePaymentIntent:
        return await self._stripe.retrieve_payment_intent(payment_intent_id)

    async def retrieve_account(self, account_id: str) -> StripeConnectedAccount:
        return await self._stripe.retrieve_account(account_id)

    async def retrieve_transfer(self, transfer_id: str) -> StripeTransfer:
        return await self._stripe.retrieve_transfer(transfer_id)

    async def list_transfers(self, transfer_group: str) -> list[StripeTransfer]:
        return await self._stripe.list_transfers(transfer_group)

    async def retrieve_event(self, event_id: str, *, account: str | None = None) -> StripeEvent:
        return await self._stripe.retrieve_event(event_id, account=account)

    def list_events(
        self,
        *,
        types: Sequence[str] = (),
        created_gte: int | None = None,
        delivery_success: bool | None = None,
        account: str | None = None,
    ) -> AsyncIterator[StripeEvent]:
        return self._stripe.list_events(
            types=types,
            created_gte=created_gte,
            delivery_success=delivery_success,
            account=account,
        )

    async def close(self) -> None:
        """The wrapped client belongs to the lifespan; closing this view closes nothing."""


def _implements_the_port(guarded: MoneyGuardedStripe) -> StripeApi:
    return guarded  # mypy checks that the guard fills the port handlers are typed against
