"""Phase 3 of a payout: storing what Stripe said, once, whoever learnt it.

The worker, the reconciler and the webhook handlers all end here. Each function is one
transaction that locks the payout row (``FOR UPDATE``), checks its status and does nothing when
the payout already moved on, so two actors learning the same answer settle it once:

- :func:`settle_succeeded`: ``pending``/``unknown`` → ``succeeded`` with the transfer id,
  journal the driver's ``payout_clearing`` → ``payout_settled``, ``payout.succeeded.v1``;
- :func:`settle_failed`: → ``failed``, one reversal journal ``payout_clearing`` → wallet
  (``external_ref`` ``payout:<id>:reversal``), ``payout.failed.v1``; only for a definitive
  answer or a lookup that proved no transfer exists;
- :func:`mark_unknown`: ``pending`` → ``unknown`` (no money moves), ``payout.unknown.v1``;
- :func:`freeze`: two transfers for one payout → ``frozen`` + alert, no ledger change;
- :func:`settle_reversed`: a reversed transfer → ``reversed`` with one compensating credit
  ``payout_settled`` → wallet (settling it first when the reversal arrived before the transfer).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from payments import audit, ledger_repository, payout_store
from payments.audit import AuditRecord
from payments.contracts import PayoutFailedV1, PayoutSucceededV1, PayoutUnknownV1
from payments.deps import PaymentsDeps
from payments.ledger import (
    PAYOUT_SETTLED,
    AccountRef,
    JournalKind,
    driver_wallet,
    transfer,
)
from payments.ledger_repository import PostStatus
from payments.payout_store import NOW, InSeconds, Payout
from payments.payouts import RECONCILE_BACKOFF_SECONDS, payout_clearing
from payments.stripe_objects import StripeTransfer

logger = logging.getLogger(__name__)


class PayoutLedgerError(RuntimeError):
    """A payout journal could not be posted (a bug: the row lock makes each one unique)."""


async def _post(
    tx: AsyncSession,
    payout: Payout,
    kind: JournalKind,
    suffix: str,
    source: AccountRef,
    destination: AccountRef,
    actor: str,
) -> uuid.UUID:
    result = await ledger_repository.post(
        tx,
        transfer(
            kind,
            f"payout:{payout.id}:{suffix}",
            source=source,
            destination=destination,
            amount=payout.nova_amount,
            actor_type="system",
            actor_id=actor,
            metadata={"payout_id": str(payout.id)},
        ),
    )
    if result.status is not PostStatus.POSTED or result.transaction_id is None:
        raise PayoutLedgerError(f"payout {payout.id} {suffix}: {result.status.value}")
    return result.transaction_id


def _facts(payout: Payout) -> dict[str, Any]:
    return {
        "payout_id": payout.id,
        "driver_id": payout.driver_id,
        "amount_minor": payout.amount_minor,
        "currency": payout.currency,
        "nova": payout.nova_amount,
    }


async def _audit(tx: AsyncSession, payout: Payout, action: str, actor: str, **details: Any) -> None:
    await audit.append(
        tx,
        AuditRecord(
            actor_type="system",
            actor_id=actor,
            action=f"payout.{action}",
            resource_type="payout",
            resource_id=str(payout.id),
            request_id=None,
            details=details,
        ),
    )


async def _succeed(
    deps: PaymentsDeps,
    tx: AsyncSession,
    payout: Payout,
    transfer_id: str,
    *,
    reason: str,
    actor: str,
    stripe_status: str,
) -> None:
    settle_tx = await _post(
        tx,
        payout,
        JournalKind.PAYOUT_SETTLE,
        "settle",
        payout_clearing(payout.driver_id),
        PAYOUT_SETTLED,
        actor,
    )
    await payout_store.transition(
        tx,
        payout,
        "succeeded",
        reason=reason,
        actor=actor,
        details={"stripe_transfer_id": transfer_id},
        stripe_transfer_id=transfer_id,
        stripe_status=stripe_status,
        settle_tx_id=settle_tx,
        settled_at=NOW,
        reconciled_at=NOW,
    )
    await deps.outbox.add(tx, PayoutSucceededV1(**_facts(payout), stripe_transfer_id=transfer_id))
    await _audit(tx, payout, "succeeded", actor, stripe_transfer_id=transfer_id, reason=reason)
    deps.payout_metrics.outcomes.labels("succeeded").inc()


async def settle_succeeded(
    deps: PaymentsDeps, payout_id: uuid.UUID, transfer_id: str, *, reason: str, actor: str
) -> Payout | None:
    await deps.hooks.before_settle("payout")
    async with deps.uow() as tx:
        payout = await payout_store.get(tx, payout_id, lock=True)
        if payout is None:
            return None
        if payout.status in payout_store.RECONCILABLE:
            await _succeed(
                deps, tx, payout, transfer_id, reason=reason, actor=actor, stripe_status="paid"
            )
        elif payout.stripe_transfer_id not in (None, transfer_id):
            _alert(
                deps, payout, "duplicate_transfers", [payout.stripe_transfer_id or "", transfer_id]
            )
        elif payout.status == "failed":  # its Nova went back to the wallet: paid twice
            _alert(deps, payout, "transfer_for_failed_payout", [transfer_id])
        return await payout_store.get(tx, payout_id)


async def settle_failed(
    deps: PaymentsDeps,
    payout_id: uuid.UUID,
    *,
    error_code: str,
    error_message: str | None,
    reason: str,
    actor: str,
) -> Payout | None:
    await deps.hooks.before_settle("payout")
    async with deps.uow() as tx:
        payout = await payout_store.get(tx, payout_id, lock=True)
        if payout is None or payout.status not in payout_store.RECONCILABLE:
            return payout
        reversal = await _post(
            tx,
            payout,
            JournalKind.PAYOUT_REVERSAL,
            "reversal",
            payout_clearing(payout.driver_id),
            driver_wallet(payout.driver_id),
            actor,
        )
        await payout_store.transition(
            tx,
            payout,
            "failed",
            reason=reason,
            actor=actor,
            details={"error_code": error_code},
            reversal_tx_id=reversal,
            no_transfer_confirmed=True,
            last_error_code=error_code,
            last_error_message=error_message,
            stripe_status=None,
            settled_at=NOW,
            reconciled_at=NOW,
        )
        await deps.outbox.add(tx, PayoutFailedV1(**_facts(payout), error_code=error_code))
        await _audit(tx, payout, "failed", actor, error_code=error_code, reason=reason)
        deps.payout_metrics.outcomes.labels("failed").inc()
        logger.warning("payout failed", extra={"payout_id": str(payout_id), "code": error_code})
        return await payout_store.get(tx, payout_id)


async def mark_unknown(
    deps: PaymentsDeps,
    payout_id: uuid.UUID,
    *,
    error_code: str,
    error_message: str | None,
    reason: str,
    actor: str,
) -> Payout | None:
    await deps.hooks.before_settle("payout")
    async with deps.uow() as tx:
        payout = await payout_store.get(tx, payout_id, lock=True)
        if payout is None or payout.status not in payout_store.RECONCILABLE:
            return payout
        values: dict[str, Any] = {
            "last_error_code": error_code,
            "last_error_message": error_message,
        }
        if payout.status == "pending":
            await payout_store.transition(
                tx,
                payout,
                "unknown",
                reason=reason,
                actor=actor,
                details={"error_code": error_code},
                next_reconcile_at=InSeconds(RECONCILE_BACKOFF_SECONDS[0]),
                **values,
            )
            await deps.outbox.add(tx, PayoutUnknownV1(**_facts(payout), error_code=error_code))
            deps.payout_metrics.outcomes.labels("unknown").inc()
            logger.warning(
                "payout outcome unknown", extra={"payout_id": str(payout_id), "code": error_code}
            )
        else:
            await payout_store.update(tx, payout_id, **values)
        return await payout_store.get(tx, payout_id)


def _alert(deps: PaymentsDeps, payout: Payout, kind: str, transfer_ids: list[str]) -> None:
    """A condition only a human can resolve: an error log and ``payout_alerts_total{kind}``."""
    deps.payout_metrics.alerts.labels(kind).inc()
    logger.error(
        "payout needs ops",
        extra={"payout_id": str(payout.id), "alert": kind, "stripe_transfer_ids": transfer_ids},
    )


async def freeze(
    deps: PaymentsDeps,
    payout_id: uuid.UUID,
    transfers: list[StripeTransfer],
    *,
    reason: str,
    actor: str,
) -> Payout | None:
    ids = [t.id for t in transfers]
    async with deps.uow() as tx:
        payout = await payout_store.get(tx, payout_id, lock=True)
        if payout is None or payout.status not in payout_store.RECONCILABLE:
            return payout
        await payout_store.transition(
            tx,
            payout,
            "frozen",
            reason=reason,
            actor=actor,
            details={"stripe_transfer_ids": ids},
            last_error_code="duplicate_transfers",
            last_error_message=f"{len(ids)} transfers carry this payout's id",
        )
        await _audit(tx, payout, "frozen", actor, stripe_transfer_ids=ids)
        _alert(deps, payout, "duplicate_transfers", ids)
        return await payout_store.get(tx, payout_id)


async def settle_reversed(
    deps: PaymentsDeps, payout_id: uuid.UUID, transfer: StripeTransfer, *, reason: str, actor: str
) -> Payout | None:
    async with deps.uow() as tx:
        payout = await payout_store.get(tx, payout_id, lock=True)
        if payout is None:
            return None
        if payout.status in payout_store.RECONCILABLE:  # the reversal arrived first
            await _succeed(
                deps, tx, payout, transfer.id, reason=reason, actor=actor, stripe_status="paid"
            )
            payout = await payout_store.get(tx, payout_id, lock=True)
            assert payout is not None
        if payout.status != "succeeded" or payout.stripe_transfer_id != transfer.id:
            return payout
        credit = await _post(
            tx,
            payout,
            JournalKind.PAYOUT_REVERSAL,
            "reversal",
            PAYOUT_SETTLED,
            driver_wallet(payout.driver_id),
            actor,
        )
        await payout_store.transition(
            tx,
            payout,
            "reversed",
            reason=reason,
            actor=actor,
            details={
                "stripe_transfer_id": transfer.id,
                "amount_reversed": transfer.amount_reversed,
            },
            reversal_tx_id=credit,
            stripe_status="reversed",
        )
        await _audit(tx, payout, "reversed", actor, stripe_transfer_id=transfer.id)
        deps.payout_metrics.outcomes.labels("reversed").inc()
        return await payout_store.get(tx, payout_id)
