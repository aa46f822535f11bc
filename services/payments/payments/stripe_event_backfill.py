"""Backfill: the Stripe events that never reached the webhook, stored and processed once.

``python -m payments.manage backfill-stripe-events --since 2026-12-01T00:00:00Z`` lists the
platform's events Stripe could not deliver (``events.list``, ``delivery_success=false``,
``created >= since``, every page; Stripe keeps 30 days), stores each through the webhook's own
insert (a duplicate of an event already stored changes nothing) with its processing command,
and processes each here and now through the worker's own path. The claim makes that exactly
once whoever gets there first — this command, a worker consuming the command, a second
backfill. An event that fails here is ``failed`` and retried by the workers on the queue's
schedule. In read-only mode events are stored only (processed once the flag is cleared).

Connected accounts' events are listed per account (``Stripe-Account``): ``account`` does that for
one account.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from payments.deps import PaymentsDeps
from payments.stripe_event_handlers import process_event, store_event
from payments.stripe_event_store import NewEvent
from payments.stripe_objects import StripeEvent

logger = logging.getLogger(__name__)


@dataclass
class BackfillReport:
    listed: int = 0
    stored: int = 0
    already_stored: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    failed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "listed": self.listed,
            "stored": self.stored,
            "already_stored": self.already_stored,
            "outcomes": dict(self.outcomes),
            "failed": self.failed,
        }


def _new_event(event: StripeEvent) -> NewEvent:
    return NewEvent(
        event_id=event.id,
        event_type=event.type,
        livemode=event.livemode,
        account=event.account,
        api_version=event.api_version,
        created=event.created,
        payload=event.payload,
        source="backfill",
    )


async def backfill_events(
    deps: PaymentsDeps, *, since: datetime, account: str | None = None
) -> BackfillReport:
    report = BackfillReport()
    listed = deps.stripe.list_events(
        created_gte=int(since.timestamp()), delivery_success=False, account=account
    )
    async for event in listed:
        report.listed += 1
        if await store_event(deps, _new_event(event)):
            report.stored += 1
        else:
            report.already_stored += 1
        try:
            outcome = await process_event(deps, event.id)
        except Exception:  # the row is failed and its command retries it; report, go on
            logger.exception("backfilled stripe event failed", extra={"event_id": event.id})
            report.failed.append(event.id)
            continue
        report.outcomes[outcome.value] += 1
    logger.info("stripe events backfilled", extra=report.to_json())
    return report
