"""Phase 1 of a driver payout: ``POST /v1/payouts {nova}`` with an ``Idempotency-Key``.

The key is claimed in one autocommit statement; then, in ONE transaction on the direct asyncpg
pool (``idempotent.run_claimed``; statements in :mod:`payments.payout_request_store`): lock the
driver's payout account (it must be enabled; payouts of one driver queue behind this lock),
refuse a second open payout, debit the wallet into the driver's ``payout_clearing`` (guarded;
``insufficient_funds`` is stored on the key), insert the payout ``pending`` with the Nova→fiat
rate frozen and the exact Stripe request (``payout:<id>``, ``transfer_group`` ``payout_<id>``),
its first transition and the ``payments.payouts.execute`` command, then the key's response with
the audit row → 202 ``{payout_id, status}``. A failure rolls everything back and releases the
claim. Nothing here awaits Stripe: the worker (:mod:`payments.payout_execution`) does phases 2
and 3.

A repeated request with the same key follows the payout's state now (the seed's rules):
``succeeded``/``reversed`` → 200; ``pending``/``unknown``/``frozen`` → 202, no new debit;
``failed`` (always with ``no_transfer_confirmed``: no transfer exists) → one new payout, linked
by ``retry_of`` (unique, so concurrent repeats create one).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
from common.direct_sql import DirectTransaction

from payments import audit, ledger_repository, payout_request_store, payout_store
from payments import stripe_requests as req
from payments.audit import AuditRecord
from payments.contracts import PayoutExecuteV1
from payments.deps import PaymentsDeps
from payments.errors import (
    IdempotencyKeyInUseError,
    InsufficientFundsError,
    PayoutAccountNotReadyError,
    PayoutAmountTooSmallError,
    PayoutInProgressError,
)
from payments.idempotency_keys import IdempotentRequest, StoredResponse
from payments.idempotent import DirectOutcome, claim, run_claimed
from payments.kill_switches import Operation
from payments.ledger import JournalKind, driver_wallet, transfer
from payments.ledger_repository import PostStatus
from payments.outcomes import json_outcome, problem_outcome
from payments.payout_request_store import OPEN_PAYOUT_INDEX, PendingPayout
from payments.payout_store import Payout
from payments.payouts import fiat_amount, payout_clearing


def payout_body(payout: Payout) -> dict[str, Any]:
    return {
        "payout_id": str(payout.id),
        "status": payout.status,
        "nova": payout.nova_amount,
        "amount_minor": payout.amount_minor,
        "currency": payout.currency,
        "stripe_transfer_id": payout.stripe_transfer_id,
        "error_code": payout.last_error_code if payout.status == "failed" else None,
        "pending_reconciliation": payout.status == "unknown",
    }


def _pending_body(pending: PendingPayout) -> dict[str, Any]:
    """:func:`payout_body` of the payout just inserted (``pending``, no transfer yet)."""
    return {
        "payout_id": str(pending.payout_id),
        "status": "pending",
        "nova": pending.nova,
        "amount_minor": pending.amount_minor,
        "currency": pending.currency,
        "stripe_transfer_id": None,
        "error_code": None,
        "pending_reconciliation": False,
    }


async def request_payout(
    deps: PaymentsDeps, *, driver_id: uuid.UUID, nova: int, request: IdempotentRequest
) -> StoredResponse:
    await deps.kill_switches.require(Operation.PAYOUT)  # before the key: a refusal keeps it
    rate = deps.settings.payout_minor_units_per_nova
    if fiat_amount(nova, rate) < 1:
        raise PayoutAmountTooSmallError(f"{nova} Nova is worth less than one minor unit.")

    claimed = await claim(deps, request) if request.key is not None else None  # None: ENV=local
    if isinstance(claimed, StoredResponse):
        outcome = claimed
    else:

        async def work(tx: DirectTransaction, reference: str) -> DirectOutcome:
            return await _create(
                deps, tx, driver_id, nova, f"payout:{reference}", request.key, None
            )

        outcome = await run_claimed(deps, request, claimed, work)
    if outcome.replayed and outcome.status == 202:
        return await _as_now(deps, outcome, driver_id, request.key)
    return outcome


async def _create(
    deps: PaymentsDeps,
    tx: DirectTransaction,
    driver_id: uuid.UUID,
    nova: int,
    debit_ref: str,
    key: str | None,
    retry_of: uuid.UUID | None,
) -> DirectOutcome:
    """Phase 1 in the caller's transaction on the direct pool: the 202 and its audit row."""
    settings = deps.settings
    account = await payout_request_store.lock_account(tx, driver_id)
    if account is None or not account.payouts_enabled:
        raise PayoutAccountNotReadyError(
            "Finish the payout account's onboarding (POST /v1/payouts/account) first."
        )
    if await payout_request_store.open_payout_of(tx, driver_id) is not None:
        raise PayoutInProgressError("Wait until the open payout settles.")
    payout_id = uuid.uuid4()
    rate = settings.payout_minor_units_per_nova
    amount_minor = fiat_amount(nova, rate)
    await deps.hooks.before_post(JournalKind.PAYOUT_DEBIT.value)
    posted = await ledger_repository.post_direct(
        tx,
        transfer(
            JournalKind.PAYOUT_DEBIT,
            debit_ref,
            source=driver_wallet(driver_id),
            destination=payout_clearing(driver_id),
            amount=nova,
            actor_type="driver",
            actor_id=str(driver_id),
            metadata={"payout_id": str(payout_id)},
        ),
    )
    if posted.status is PostStatus.INSUFFICIENT_FUNDS:
        return DirectOutcome(
            problem_outcome(InsufficientFundsError(f"The wallet holds less than {nova} Nova."))
        )
    if posted.status is PostStatus.DUPLICATE or posted.transaction_id is None:
        raise IdempotencyKeyInUseError("This request was already applied.", retry_after=1)
    request = req.transfer_request(
        str(payout_id),
        amount_minor=amount_minor,
        currency=settings.payout_currency,
        destination=account.stripe_account_id,
        driver_id=str(driver_id),
    )
    pending = PendingPayout(
        payout_id=payout_id,
        driver_id=driver_id,
        nova=nova,
        rate=rate,
        amount_minor=amount_minor,
        currency=settings.payout_currency,
        destination=account.stripe_account_id,
        stripe_request=request.to_json(),
        transfer_group=req.transfer_group(str(payout_id)),
        stripe_key=request.idempotency_key,
        debit_tx_id=posted.transaction_id,
        stale_seconds=settings.payout_stale_pending_seconds,
        retry_of=retry_of,
    )
    [command], _ = deps.outbox.rows([PayoutExecuteV1(payout_id=payout_id)])
    try:
        await payout_request_store.insert_pending(tx, pending, command)
    except asyncpg.UniqueViolationError as conflict:  # a concurrent request opened one first
        if conflict.constraint_name == OPEN_PAYOUT_INDEX:
            raise PayoutInProgressError("Wait until the open payout settles.") from conflict
        raise
    record = AuditRecord(
        actor_type="driver",
        actor_id=str(driver_id),
        action="payout.request",
        resource_type="payout",
        resource_id=str(payout_id),
        idempotency_key=key,
        details={
            "nova": nova,
            "amount_minor": amount_minor,
            "currency": settings.payout_currency,
            "rate_minor_per_nova": str(rate),
            "retry_of": str(retry_of) if retry_of else None,
            "wallet_balance_after": posted.balances[0],
        },
    )
    return DirectOutcome(json_outcome(202, _pending_body(pending)), audit=record)


async def _as_now(
    deps: PaymentsDeps, stored: StoredResponse, driver_id: uuid.UUID, key: str | None
) -> StoredResponse:
    payout_id = uuid.UUID(json.loads(stored.body)["payout_id"])
    async with deps.uow() as tx:
        payout = await payout_store.get(tx, payout_id)
        while payout is not None and payout.status == "failed":
            following = await payout_store.retry_of(tx, payout.id)
            if following is None:
                break
            payout = following
    assert payout is not None, "a stored payout response names a payout"
    if payout.status == "failed" and payout.no_transfer_confirmed:
        failed_id = payout.id
        try:
            async with deps.uow.direct_transaction() as direct:
                created = await _create(
                    deps,
                    direct,
                    driver_id,
                    payout.nova_amount,
                    f"payout:retry:{failed_id}",
                    key,
                    failed_id,
                )
                if created.audit is not None:
                    await audit.append_direct(direct, created.audit)
            outcome = created.response
        except (asyncpg.UniqueViolationError, PayoutInProgressError):
            async with deps.uow() as tx:  # a concurrent repeat created the new payout first?
                retried = await payout_store.retry_of(tx, failed_id)
            if retried is None:
                raise
            return _replayed(202, retried)
        return StoredResponse(outcome.status, outcome.body, outcome.content_type, replayed=True)
    status = 200 if payout.status in ("succeeded", "reversed") else 202
    return _replayed(status, payout)


def _replayed(status: int, payout: Payout) -> StoredResponse:
    outcome = json_outcome(status, payout_body(payout))
    return StoredResponse(outcome.status, outcome.body, outcome.content_type, replayed=True)
