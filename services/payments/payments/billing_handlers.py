"""Merchant billing: one charge per billing event, executed off-session by a worker.

``session.completed.v1`` records the charge (unique per ``billing_event_id``) and the
``payments.billing.charge`` command in the reward's transaction. The worker
(:func:`execute_charge`) makes sure the merchant has its Stripe customer (key
``customer:<merchant_id>``), builds the PaymentIntent request once and stores it, re-checks the
kill switches and calls Stripe outside any transaction with key ``billing:<billing_event_id>``:

- succeeded → ``succeeded`` + ``merchant.billed.v1``;
- a decline or ``authentication_required`` → ``failed`` + ``merchant.billing_failed.v1``;
- ``processing`` → kept ``processing`` (the PaymentIntent webhooks settle it);
- a transient failure (ambiguous ones included) propagates: the queue's retry schedule
  (30s, 2m, 10m), then the DLQ, whose replay re-sends the stored request with the same key, so
  Stripe answers the first attempt's result instead of charging twice;
- a merchant without a payment method: ``awaiting_payment_method`` (visible), re-queued by
  :func:`set_payment_method` once an admin sets one.

Stripe is never called while a row is locked or a transaction is open. While Stripe is not
answering (:mod:`payments.stripe_circuit`) the worker holds the charge before the call.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from messaging.failures import PermanentError, TransientError
from sqlalchemy.ext.asyncio import AsyncSession

from payments import audit, billing_store, projections
from payments import stripe_requests as req
from payments.audit import AuditRecord
from payments.billing_store import Charge
from payments.contracts import (
    BillingChargeV1,
    MerchantBilledV1,
    MerchantBillingFailedV1,
    SessionCompletedV1,
)
from payments.deps import PaymentsDeps
from payments.errors import (
    MerchantNotFoundError,
    PaymentMethodRejectedError,
    StripeUnavailableError,
)
from payments.kill_switches import Operation
from payments.stripe_errors import (
    StripeCardDeclinedError,
    StripeDefinitiveError,
    StripeTransientError,
)
from payments.stripe_objects import StripePaymentIntent
from payments.stripe_requests import StripeRequest

logger = logging.getLogger(__name__)


async def record_billing(
    deps: PaymentsDeps,
    tx: AsyncSession,
    event: SessionCompletedV1,
    *,
    correlation_id: str | None,
    causation_id: str | None,
) -> bool:
    """Records the event's charge and its command in ``tx``; False for a repeat or a zero."""
    if event.amount_minor <= 0:
        return False
    recorded = await billing_store.record_charge(
        tx,
        billing_event_id=event.billing_event_id,
        merchant_id=event.merchant_id,
        session_id=event.session_id,
        amount_minor=event.amount_minor,
        currency=event.currency,
    )
    if recorded:
        await deps.outbox.add(
            tx,
            BillingChargeV1(billing_event_id=event.billing_event_id),
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
    return recorded


def customer_request(merchant_id: uuid.UUID) -> StripeRequest:
    """Built from the merchant id only: a rename can never change a replay's parameters."""
    return req.customer_request(str(merchant_id), name=f"Nerava merchant {merchant_id}")


async def ensure_customer(deps: PaymentsDeps, merchant_id: uuid.UUID, *, actor: str) -> str:
    """The merchant's one Stripe customer, created on first need (idempotent per merchant)."""
    async with deps.uow() as tx:
        billing = await billing_store.merchant_billing(tx, merchant_id)
        if billing is not None and billing.stripe_customer_id is not None:
            return billing.stripe_customer_id
        if await projections.get_merchant(tx, merchant_id) is None:
            raise MerchantNotFoundError()
    await deps.kill_switches.require(Operation.BILLING)
    customer = await deps.stripe.create_customer(customer_request(merchant_id))
    async with deps.uow() as tx:
        await billing_store.store_customer(tx, merchant_id, customer.id, actor=actor)
        stored = await billing_store.merchant_billing(tx, merchant_id)
    assert stored is not None and stored.stripe_customer_id is not None
    return stored.stripe_customer_id


@dataclass(frozen=True)
class BillingView:
    merchant_id: uuid.UUID
    stripe_customer_id: str
    default_payment_method_id: str
    charges_requeued: int


async def set_payment_method(
    deps: PaymentsDeps, merchant_id: uuid.UUID, payment_method_id: str, *, admin: str
) -> BillingView:
    """Attach the method to the merchant's customer, make it the default, re-queue waiting
    charges. Stripe answers before anything is stored (a transient failure is a 503)."""
    try:
        customer_id = await ensure_customer(deps, merchant_id, actor=f"admin:{admin}")
        await deps.kill_switches.require(Operation.BILLING)
        method = await deps.stripe.attach_payment_method(
            req.attach_payment_method_request(customer_id, payment_method_id)
        )
        await deps.stripe.set_default_payment_method(
            req.default_payment_method_request(customer_id, method.id, change_id=str(uuid.uuid4()))
        )
    except StripeDefinitiveError as refused:
        raise PaymentMethodRejectedError(refused.code or "refused by Stripe") from refused
    except StripeTransientError as unanswered:
        raise StripeUnavailableError() from unanswered
    async with deps.uow() as tx:
        await billing_store.store_payment_method(tx, merchant_id, method.id, actor=admin)
        waiting = await billing_store.waiting_charges(tx, merchant_id)
        for billing_event_id in waiting:
            await deps.outbox.add(tx, BillingChargeV1(billing_event_id=billing_event_id))
        await audit.append(
            tx,
            AuditRecord(
                actor_type="admin",
                actor_id=admin,
                action="merchant.billing.set_payment_method",
                resource_type="merchant",
                resource_id=str(merchant_id),
                request_id=None,
                details={"payment_method_id": method.id, "charges_requeued": len(waiting)},
            ),
        )
    return BillingView(merchant_id, customer_id, method.id, len(waiting))


async def _prepared_request(deps: PaymentsDeps, charge: Charge) -> StripeRequest | None:
    """The stored request, or a new one stored now; None while no payment method is set."""
    if charge.stripe_request is not None:
        return StripeRequest.from_json(charge.stripe_request)
    customer_id = await ensure_customer(deps, charge.merchant_id, actor="billing")
    async with deps.uow() as tx:
        locked = await billing_store.charge(tx, charge.billing_event_id, lock=True)
        assert locked is not None
        if locked.stripe_request is not None:
            return StripeRequest.from_json(locked.stripe_request)
        billing = await billing_store.merchant_billing(tx, charge.merchant_id)
        method = None if billing is None else billing.default_payment_method_id
        if method is None:
            await billing_store.update_charge(
                tx, charge.billing_event_id, status="awaiting_payment_method"
            )
            logger.info("billing charge awaits a payment method")
            return None
        request = req.off_session_charge_request(
            str(charge.billing_event_id),
            amount_minor=charge.amount_minor,
            currency=charge.currency,
            customer_id=customer_id,
            payment_method_id=method,
            merchant_id=str(charge.merchant_id),
            session_id=str(charge.session_id),
        )
        await billing_store.update_charge(
            tx, charge.billing_event_id, status="pending", stripe_request=request.to_json()
        )
        return request


async def execute_charge(deps: PaymentsDeps, billing_event_id: uuid.UUID) -> None:
    async with deps.uow() as tx:
        charge = await billing_store.charge(tx, billing_event_id, lock=False)
    if charge is None:
        raise PermanentError(f"no billing charge {billing_event_id}")
    if charge.settled or charge.status == "processing":
        return
    try:
        request = await _prepared_request(deps, charge)
    except MerchantNotFoundError:
        # merchant.created.v1 not projected yet: retried on the schedule, never dropped
        raise TransientError("the charge's merchant is not known yet") from None
    if request is None:
        return
    await deps.hooks.before_stripe_call(request.operation)
    await deps.stripe.wait_for_turn()
    await deps.kill_switches.require(Operation.BILLING)
    try:
        intent = await deps.stripe.charge_off_session(request)
    except StripeCardDeclinedError as declined:
        code = declined.decline_code or declined.code or "card_declined"
        await _settle(deps, charge, "failed", declined.payment_intent_id, code)
        return
    if intent.succeeded:
        await _settle(deps, charge, "succeeded", intent.id, None)
    elif intent.status == "processing":
        await _settle(deps, charge, "processing", intent.id, None)
    else:
        await _settle(deps, charge, "failed", intent.id, _failure_code(intent))


def _failure_code(intent: StripePaymentIntent) -> str:
    return intent.last_error_code or intent.status


async def settle_from_intent(
    deps: PaymentsDeps, charge: Charge, intent: StripePaymentIntent
) -> None:
    """Settles ``charge`` from its PaymentIntent as Stripe has it now (a webhook's re-fetch):
    the same outcome the worker would have stored, published once; a no-op once settled."""
    if intent.succeeded:
        await _settle(deps, charge, "succeeded", intent.id, None, by_webhook=True)
    elif intent.status == "processing":
        await _settle(deps, charge, "processing", intent.id, None, by_webhook=True)
    else:
        code = _failure_code(intent)
        await _settle(deps, charge, "failed", intent.id, code, by_webhook=True)


async def _settle(
    deps: PaymentsDeps,
    charge: Charge,
    status: str,
    payment_intent_id: str | None,
    error_code: str | None,
    *,
    by_webhook: bool = False,
) -> None:
    """``by_webhook``: settled from a PaymentIntent webhook's re-fetch (not a worker attempt)."""
    await deps.hooks.before_settle("billing.webhook" if by_webhook else "billing")
    async with deps.uow() as tx:
        locked = await billing_store.charge(tx, charge.billing_event_id, lock=True)
        if locked is None or locked.settled:
            return  # a concurrent delivery settled it first (the same Stripe answer)
        await billing_store.update_charge(
            tx,
            charge.billing_event_id,
            status=status,
            stripe_payment_intent_id=payment_intent_id,
            error_code=error_code,
            attempts=locked.attempts if by_webhook else locked.attempts + 1,
        )
        if status == "succeeded" and payment_intent_id is not None:
            await deps.outbox.add(
                tx,
                MerchantBilledV1(
                    billing_event_id=charge.billing_event_id,
                    merchant_id=charge.merchant_id,
                    amount_minor=charge.amount_minor,
                    currency=charge.currency,
                    stripe_payment_intent_id=payment_intent_id,
                ),
            )
        elif status == "failed" and error_code is not None:
            logger.warning("merchant billing failed", extra={"error_code": error_code})
            await deps.outbox.add(
                tx,
                MerchantBillingFailedV1(
                    billing_event_id=charge.billing_event_id,
                    merchant_id=charge.merchant_id,
                    amount_minor=charge.amount_minor,
                    currency=charge.currency,
                    stripe_payment_intent_id=payment_intent_id,
                    error_code=error_code,
                ),
            )


async def get_charge(deps: PaymentsDeps, billing_event_id: uuid.UUID) -> Charge | None:
    async with deps.uow() as tx:
        return await billing_store.charge(tx, billing_event_id, lock=False)
