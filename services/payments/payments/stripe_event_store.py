"""Rows of the Stripe webhook inbox (``stripe_events``, migration 0006), given the transaction.

One row per Stripe event id: ``INSERT … ON CONFLICT (event_id) DO NOTHING`` is the dedup of
every delivery, retry and backfill. Status::

    received ──claim──► processing ──► processed | ignored
        ▲                   │
        └── (lease expired) ┴──► failed ──claim (retry, replay)──► processing

A claim is one guarded ``UPDATE`` on a row no other transaction holds (``FOR UPDATE SKIP
LOCKED``): it takes a lease (``locked_until``) and counts the attempt, and only the holder of
that attempt may finish the row. A ``processing`` row whose lease expired can be claimed again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

OPEN = ("received", "processing", "failed")


@dataclass(frozen=True)
class NewEvent:
    event_id: str
    event_type: str
    livemode: bool
    account: str | None
    api_version: str | None
    created: int
    payload: Mapping[str, Any]
    source: str  # webhook | backfill


@dataclass(frozen=True)
class ClaimedEvent:
    event_id: str
    event_type: str
    livemode: bool
    account: str | None
    payload: dict[str, Any]
    attempt: int


async def insert_event(tx: AsyncSession, event: NewEvent) -> bool:
    """Stores the event once; False when its id was stored before (a duplicate)."""
    result = await tx.execute(
        text(
            "INSERT INTO stripe_events (event_id, event_type, livemode, account, api_version,"
            " stripe_created, payload, source)"
            " VALUES (:id, :type, :livemode, :account, :api_version, to_timestamp(:created),"
            " CAST(:payload AS jsonb), :source)"
            " ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
        ),
        {
            "id": event.event_id,
            "type": event.event_type,
            "livemode": event.livemode,
            "account": event.account,
            "api_version": event.api_version,
            "created": event.created,
            "payload": json.dumps(event.payload),
            "source": event.source,
        },
    )
    return result.first() is not None


async def claim(tx: AsyncSession, event_id: str, *, lease_seconds: float) -> ClaimedEvent | None:
    """Takes the event for one attempt; None when it is done or another worker holds it."""
    row = (
        await tx.execute(
            text(
                "UPDATE stripe_events SET status = 'processing', attempts = attempts + 1,"
                " locked_until = now() + make_interval(secs => :lease), updated_at = now()"
                " WHERE event_id = ("
                "   SELECT event_id FROM stripe_events WHERE event_id = :id"
                "   AND (status IN ('received', 'failed')"
                "        OR (status = 'processing' AND locked_until < now()))"
                "   FOR UPDATE SKIP LOCKED)"
                " RETURNING event_id, event_type, livemode, account, payload, attempts"
            ),
            {"id": event_id, "lease": float(lease_seconds)},
        )
    ).first()
    if row is None:
        return None
    return ClaimedEvent(
        event_id=row.event_id,
        event_type=row.event_type,
        livemode=row.livemode,
        account=row.account,
        payload=dict(row.payload),
        attempt=row.attempts,
    )


async def finish(
    tx: AsyncSession, event_id: str, *, attempt: int, status: str, error: str | None = None
) -> bool:
    """Ends the claimed ``attempt`` as processed, ignored or failed (False: the lease was lost).
    ``error``: why it failed or was ignored; a later success keeps the last failure's text."""
    if status not in ("processed", "ignored", "failed"):
        raise ValueError(f"an attempt cannot end as {status}")
    result = await tx.execute(
        text(
            "UPDATE stripe_events SET status = :status, locked_until = NULL,"
            " last_error = COALESCE(:error, last_error),"
            " processed_at = CASE WHEN :status = 'failed' THEN processed_at ELSE now() END,"
            " updated_at = now()"
            " WHERE event_id = :id AND status = 'processing' AND attempts = :attempt"
            " RETURNING event_id"
        ),
        {"id": event_id, "attempt": attempt, "status": status, "error": error},
    )
    return result.first() is not None


async def defer(tx: AsyncSession, event_id: str) -> None:
    """Read-only mode: a ``failed`` event whose retry arrives goes back to ``received`` (its
    attempts and last error kept), so the drain after the flag takes it like the others."""
    await tx.execute(
        text(
            "UPDATE stripe_events SET status = 'received', updated_at = now()"
            " WHERE event_id = :id AND status = 'failed'"
        ),
        {"id": event_id},
    )


async def take_unstarted(tx: AsyncSession, *, older_than_seconds: float, batch: int) -> list[str]:
    """Marks up to ``batch`` events no worker has taken for ``older_than_seconds`` (stored in
    read-only mode, a lost command, an expired lease) as re-queued; returns their ids."""
    rows = await tx.execute(
        text(
            "UPDATE stripe_events SET requeued_at = now(), updated_at = now()"
            " WHERE event_id IN ("
            "   SELECT event_id FROM stripe_events"
            "   WHERE (status = 'received' OR (status = 'processing' AND locked_until < now()))"
            "   AND received_at <= now() - make_interval(secs => :after)"
            "   AND (requeued_at IS NULL OR requeued_at <= now() - make_interval(secs => :after))"
            "   ORDER BY received_at LIMIT :batch FOR UPDATE SKIP LOCKED)"
            " RETURNING event_id"
        ),
        {"after": float(older_than_seconds), "batch": batch},
    )
    return [row[0] for row in rows]


async def delete_done(tx: AsyncSession, *, retention_days: int, batch: int) -> int:
    """Deletes up to ``batch`` processed or ignored events older than the retention."""
    rows = await tx.execute(
        text(
            "DELETE FROM stripe_events WHERE event_id IN ("
            "   SELECT event_id FROM stripe_events"
            "   WHERE status IN ('processed', 'ignored')"
            "   AND processed_at < now() - make_interval(days => :days)"
            "   LIMIT :batch FOR UPDATE SKIP LOCKED)"
            " RETURNING event_id"
        ),
        {"days": retention_days, "batch": batch},
    )
    return len(rows.all())
