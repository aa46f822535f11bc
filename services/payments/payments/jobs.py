"""Background loops of payments, in every replica (their SQL is multi-replica safe):

- ``idempotency-key-reaper``: deletes expired keys (``FOR UPDATE SKIP LOCKED`` batches);
- ``parked-rewards``: applies rewards parked while earning was off (``SKIP LOCKED``);
- ``payout-reconciler``: settles ``unknown`` and stale ``pending`` payouts (a lease per payout
  taken with ``SKIP LOCKED``; backoff in ``next_reconcile_at``).
"""

from __future__ import annotations

from common.periodic import PeriodicJob

from payments import housekeeping_handlers, payout_reconciler, reward_handlers
from payments.deps import PaymentsDeps


def periodic_jobs(deps: PaymentsDeps) -> list[PeriodicJob]:
    settings = deps.settings

    async def reap() -> int:
        return await housekeeping_handlers.reap_idempotency_keys(
            deps, batch=settings.idempotency_reaper_batch_size
        )

    async def parked() -> int:
        return await reward_handlers.apply_parked_rewards(
            deps, batch=settings.parked_rewards_batch_size
        )

    async def reconcile() -> int:
        return await payout_reconciler.reconcile_due(
            deps, batch=settings.payout_reconcile_batch_size
        )

    return [
        PeriodicJob(
            "payout-reconciler",
            settings.payout_reconcile_interval_seconds,
            reconcile,
            batch_size=settings.payout_reconcile_batch_size,
        ),
        PeriodicJob(
            "idempotency-key-reaper",
            settings.idempotency_reaper_interval_seconds,
            reap,
            batch_size=settings.idempotency_reaper_batch_size,
        ),
        PeriodicJob(
            "parked-rewards",
            settings.parked_rewards_interval_seconds,
            parked,
            batch_size=settings.parked_rewards_batch_size,
        ),
    ]
