"""Settling ``unknown`` and stale ``pending`` payouts: the periodic job and the ops endpoint.

One actor per payout: an actor first leases it (``reconcile_lease_until``, taken with
``FOR UPDATE SKIP LOCKED`` in its own short transaction), so every replica's job and the ops
endpoint can run at once; no transaction is open while Stripe is asked. Then:

1. While the key is younger than ``STRIPE_REPLAY_WINDOW_HOURS`` (~20 h; Stripe may forget it
   at 24 h) and the kill switches allow a POST: replay the stored request with the same key.
   A transfer or a definitive refusal settles the payout.
2. Otherwise, or still ambiguous: ``transfers.list(transfer_group)`` (transfers cannot be
   searched; the List API is read-after-write) and never a POST:
   - one transfer carrying the payout's id → ``succeeded`` (``reversed`` if it was reversed);
   - two or more → ``frozen`` + alert (log + ``payout_alerts_total``), no ledger change;
   - none, and the window closed after a POST → ``failed`` + one reversal credit
     (``no_transfer_confirmed``): no request can create it any more;
   - none, and never sent (a kill switch held it) → stays ``pending`` until POSTs reopen.
3. Still open → the lease ends with a backoff (1 m, 5 m, 30 m, 2 h, 6 h, 12 h).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from payments import payout_settlement, payout_store
from payments.deps import PaymentsDeps
from payments.errors import (
    MoneyMovementDisabledError,
    PayoutNotFoundError,
    PayoutReconcileInProgressError,
)
from payments.kill_switches import Operation
from payments.payout_execution import Attempt, attempt_transfer, replay_window
from payments.payout_store import Payout
from payments.payouts import LookupVerdict, lookup_verdict, may_replay, reconcile_backoff
from payments.payouts import transfers_of as matching
from payments.stripe_errors import StripeTransientError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reconciled:
    payout: Payout
    acted: bool
    """False: the payout was already settled (a no-op)."""


async def reconcile_due(deps: PaymentsDeps, *, batch: int) -> int:
    """One pass of the periodic job: lease what is due here, settle it; the count leased."""
    async with deps.uow() as tx:
        leased = await payout_store.lease_due(
            tx, batch=batch, lease_seconds=deps.settings.payout_reconcile_lease_seconds
        )
    await deps.hooks.after_lease(len(leased))
    for payout_id in leased:
        await _reconcile_leased(deps, payout_id, actor="reconciler")
    return len(leased)


async def reconcile_now(deps: PaymentsDeps, payout_id: uuid.UUID, *, admin: str) -> Reconciled:
    """The ops endpoint: the same steps for one payout; a settled payout is a no-op."""
    async with deps.uow() as tx:
        payout = await payout_store.get(tx, payout_id)
    if payout is None:
        raise PayoutNotFoundError(f"No payout {payout_id}.")
    if payout.status not in payout_store.RECONCILABLE:
        return Reconciled(payout, acted=False)
    async with deps.uow() as tx:
        leased = await payout_store.lease_one(
            tx, payout_id, lease_seconds=deps.settings.payout_reconcile_lease_seconds
        )
    await deps.hooks.after_lease(int(leased))
    if not leased:
        raise PayoutReconcileInProgressError(
            "Another reconciler is settling this payout; retry shortly.", retry_after=5
        )
    settled = await _reconcile_leased(deps, payout_id, actor=f"admin:{admin}")
    return Reconciled(settled, acted=True)


async def _posts_allowed(deps: PaymentsDeps) -> bool:
    try:
        await deps.kill_switches.require(Operation.PAYOUT)
    except MoneyMovementDisabledError:
        return False
    return True


async def _reconcile_leased(deps: PaymentsDeps, payout_id: uuid.UUID, *, actor: str) -> Payout:
    try:
        await _settle(deps, payout_id, actor=actor)
    finally:
        async with deps.uow() as tx:
            payout = await payout_store.get(tx, payout_id, lock=True)
            assert payout is not None
            still_open = payout.status in payout_store.RECONCILABLE
            await payout_store.release_lease(
                tx,
                payout_id,
                retry_in_seconds=reconcile_backoff(payout.reconcile_attempts)
                if still_open
                else None,
            )
    async with deps.uow() as tx:
        final = await payout_store.get(tx, payout_id)
    assert final is not None
    return final


async def _settle(deps: PaymentsDeps, payout_id: uuid.UUID, *, actor: str) -> None:
    async with deps.uow() as tx:
        payout = await payout_store.get(tx, payout_id)
    if payout is None or payout.status not in payout_store.RECONCILABLE:
        return
    window = replay_window(deps)
    replayable = may_replay(payout.first_submitted_at, datetime.now(UTC), window)
    if replayable and await _posts_allowed(deps):
        await deps.hooks.before_stripe_call("transfers.create")
        if await attempt_transfer(deps, payout, actor=f"{actor}:replay") is Attempt.SETTLED:
            return
    try:
        listed = await deps.stripe.list_transfers(payout.transfer_group)
    except StripeTransientError:
        logger.warning("payout lookup failed; retried later", extra={"payout_id": str(payout_id)})
        return
    found = matching(payout.id, listed)
    verdict = lookup_verdict(found)
    if verdict is LookupVerdict.DUPLICATE:
        await payout_settlement.freeze(
            deps, payout_id, found, reason="reconcile:duplicate_transfers", actor=actor
        )
    elif verdict is LookupVerdict.FOUND:
        [transfer] = found
        if transfer.reversed:
            await payout_settlement.settle_reversed(
                deps, payout_id, transfer, reason="reconcile:list_match_reversed", actor=actor
            )
        else:
            await payout_settlement.settle_succeeded(
                deps, payout_id, transfer.id, reason="reconcile:list_match", actor=actor
            )
    elif not replayable:  # sent before, the key's window closed, and no transfer exists
        await payout_settlement.settle_failed(
            deps,
            payout_id,
            error_code="no_transfer",
            error_message="No transfer exists for this payout after its replay window.",
            reason="reconcile:list_none",
            actor=actor,
        )
