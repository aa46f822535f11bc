"""Background loops of payments, in every replica (their SQL is multi-replica safe):

- ``idempotency-key-reaper``: deletes expired keys (``FOR UPDATE SKIP LOCKED`` batches);
- ``parked-rewards``: applies rewards parked while earning was off (``SKIP LOCKED``);
- ``stripe-events-requeue``: gives stored Stripe events no worker has taken (read-only mode,
  a lost command, an expired lease) their processing command again (``SKIP LOCKED``);
- ``stripe-events-reaper``: deletes processed and ignored Stripe events past their retention;
- ``payout-reconciler``: settles ``unknown`` and stale ``pending`` payouts (a lease per payout
  taken with ``SKIP LOCKED``; backoff in ``next_reconcile_at``).
"""

from __future__ import annotations

from common.periodic import PeriodicJob

from payments import (
    housekeeping_handlers,
    payout_reconciler,
    reward_handlers,
    stripe_event_handlers,
)
from payments.deps import PaymentsDeps

EVENT_REAPER_BATCH = 500


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

    async def requeue_events() -> int:
        return await stripe_event_handlers.requeue_unstarted(
            deps, batch=settings.stripe_event_requeue_batch_size
        )

    async def reap_events() -> int:
        return await stripe_event_handlers.reap_done(deps, batch=EVENT_REAPER_BATCH)

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
        PeriodicJob(
            "stripe-events-requeue",
            settings.stripe_event_requeue_interval_seconds,
            requeue_events,
            batch_size=settings.stripe_event_requeue_batch_size,
        ),
        PeriodicJob(
            "stripe-events-reaper",
            settings.stripe_event_reaper_interval_seconds,
            reap_events,
            batch_size=EVENT_REAPER_BATCH,
            first_round_within_seconds=60,
        ),
    ]
