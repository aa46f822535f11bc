"""The Stripe webhook inbox: store each verified event once, process it once, in a worker.

Receiving (``POST /v1/webhooks/stripe``, after the signature check, and the backfill): one
transaction inserts the event (``ON CONFLICT (event_id) DO NOTHING``) and, for a new one, the
``payments.stripe_events.process`` command into the outbox. Nothing else happens on the request
path; a database that cannot answer is a 503 (Stripe delivers again) and leaves nothing behind.

Processing (:func:`process_event`, the command's consumer in every replica): claim the row
(``SKIP LOCKED`` + a lease; a row done or held elsewhere is skipped), ignore what is not ours
(:mod:`payments.stripe_event_rules`), otherwise dispatch to the registered handler
(:mod:`payments.stripe_event_registry`) with a Stripe port whose POSTs pass the kill switches
first, then mark the attempt ``processed`` / ``ignored``. A handler that raises marks it
``failed`` (attempts, last error) and the exception goes to the backbone: the queue's retry
schedule (Stripe's 30s, 2m, 10m), then the DLQ (``nerava-ops dead-letters … -s payments``), whose
replay processes the stored event again. The webhook's 200 was sent long before.

Read-only mode (``EMERGENCY_READONLY_MODE``): events are stored, not processed (a ``failed`` one
whose retry or replay arrives goes back to ``received``); once the flag is cleared,
:func:`requeue_unstarted` (a periodic job) gives every event left ``received`` its command again
and each is processed once (the claim).
"""

from __future__ import annotations

import dataclasses
import logging
from enum import StrEnum

from common.redaction import scrub_text

from payments import stripe_event_store as store
from payments.contracts import StripeEventReceivedV1
from payments.deps import PaymentsDeps
from payments.stripe_event_registry import CONNECT_EVENT_TYPES, EVENT_HANDLERS
from payments.stripe_event_rules import IgnoredEventError, ignore_reason
from payments.stripe_event_store import ClaimedEvent, NewEvent
from payments.stripe_guard import MoneyGuardedStripe
from payments.stripe_webhooks import VerifiedWebhook

logger = logging.getLogger(__name__)
MAX_ERROR_CHARS = 500


class EventOutcome(StrEnum):
    PROCESSED = "processed"
    IGNORED = "ignored"
    DEFERRED = "deferred"  # read-only mode: stored, processed once the flag is cleared
    SKIPPED = "skipped"  # done already, or another worker holds its lease


async def store_event(deps: PaymentsDeps, event: NewEvent) -> bool:
    """Stores the event and its processing command once; False for a duplicate."""
    await deps.hooks.before_event_store(event.event_id)
    async with deps.uow() as tx:
        stored = await store.insert_event(tx, event)
        if stored:
            await deps.outbox.add(tx, StripeEventReceivedV1(event_id=event.event_id))
    outcome = "stored" if stored else "duplicate"
    deps.event_metrics.received.labels(event.source, outcome).inc()
    logger.info(
        "stripe event received",
        extra={"event_id": event.event_id, "event_type": event.event_type, "outcome": outcome},
    )
    return stored


async def process_event(deps: PaymentsDeps, event_id: str) -> EventOutcome:
    """Processes one stored event once (module doc); a handler's failure propagates."""
    if deps.settings.emergency_readonly_mode:
        async with deps.uow() as tx:
            await store.defer(tx, event_id)
        deps.event_metrics.handled.labels(EventOutcome.DEFERRED.value).inc()
        return EventOutcome.DEFERRED
    await deps.hooks.before_event_claim(event_id)
    async with deps.uow() as tx:
        claimed = await store.claim(
            tx, event_id, lease_seconds=deps.settings.stripe_event_lease_seconds
        )
    if claimed is None:
        deps.event_metrics.handled.labels(EventOutcome.SKIPPED.value).inc()
        return EventOutcome.SKIPPED
    reason = ignore_reason(
        claimed.event_type,
        livemode=claimed.livemode,
        account=claimed.account,
        handled=EVENT_HANDLERS,
        connect_types=CONNECT_EVENT_TYPES,
        expected_livemode=deps.settings.stripe_livemode,
    )
    if reason is None:
        reason = await _dispatch(deps, claimed)
    outcome = EventOutcome.PROCESSED if reason is None else EventOutcome.IGNORED
    await _finish(deps, claimed, outcome.value, reason)
    return outcome


async def _dispatch(deps: PaymentsDeps, claimed: ClaimedEvent) -> str | None:
    """Runs the event's handler; the reason it ignored the event, or None."""
    handler = EVENT_HANDLERS[claimed.event_type]
    guarded = dataclasses.replace(deps, stripe=MoneyGuardedStripe(deps.stripe, deps.kill_switches))
    try:
        await handler(guarded, claimed.payload)
    except IgnoredEventError as ignored:
        return ignored.reason
    except Exception as exc:  # recorded on the row, then re-raised to the retry tiers
        error = f"{type(exc).__name__}: {scrub_text(str(exc))}"[:MAX_ERROR_CHARS]
        await _finish(deps, claimed, "failed", error)
        raise
    return None


async def _finish(
    deps: PaymentsDeps, claimed: ClaimedEvent, status: str, detail: str | None
) -> None:
    async with deps.uow() as tx:
        kept = await store.finish(
            tx, claimed.event_id, attempt=claimed.attempt, status=status, error=detail
        )
    deps.event_metrics.handled.labels(status).inc()
    log = logger.warning if status == "failed" else logger.info
    log(
        "stripe event handled",
        extra={
            "event_id": claimed.event_id,
            "event_type": claimed.event_type,
            "outcome": status,
            "attempt": claimed.attempt,
            "reason": detail,
            "lease_kept": kept,
        },
    )


async def requeue_unstarted(deps: PaymentsDeps, *, batch: int) -> int:
    """Gives events no worker has taken (read-only mode, a lost command, an expired lease)
    their command again; nothing while read-only. Safe in every replica (SKIP LOCKED)."""
    settings = deps.settings
    if settings.emergency_readonly_mode:
        return 0
    async with deps.uow() as tx:
        event_ids = await store.take_unstarted(
            tx, older_than_seconds=settings.stripe_event_requeue_after_seconds, batch=batch
        )
        for event_id in event_ids:
            await deps.outbox.add(tx, StripeEventReceivedV1(event_id=event_id))
    if event_ids:
        logger.info("stripe events re-queued", extra={"count": len(event_ids)})
    return len(event_ids)


async def reap_done(deps: PaymentsDeps, *, batch: int) -> int:
    """Deletes processed and ignored events past ``STRIPE_EVENT_RETENTION_DAYS`` (open and
    failed ones stay). Safe in every replica (SKIP LOCKED)."""
    async with deps.uow() as tx:
        return await store.delete_done(
            tx, retention_days=deps.settings.stripe_event_retention_days, batch=batch
        )


async def receive_webhook(deps: PaymentsDeps, webhook: VerifiedWebhook) -> bool:
    """A verified delivery: stored with its command (False: a duplicate, stored before)."""
    return await store_event(
        deps,
        NewEvent(
            event_id=webhook.event_id,
            event_type=webhook.type,
            livemode=webhook.livemode,
            account=webhook.account,
            api_version=webhook.api_version,
            created=webhook.created,
            payload=webhook.payload,
            source="webhook",
        ),
    )
