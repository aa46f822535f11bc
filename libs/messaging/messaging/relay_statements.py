"""The relay's statements over one outbox table, built once per relay.

``claim`` leases a batch (``FOR UPDATE SKIP LOCKED``, oldest first) and returns what to publish;
``mark_sent`` and ``release`` settle rows only for the claim that holds them (its token);
``unclaim`` gives back a batch claimed ahead of a failure; ``lag`` is the age of the oldest row
due and unsent; ``purge`` deletes sent rows past retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    Delete,
    Interval,
    Select,
    Table,
    Update,
    and_,
    bindparam,
    case,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.sql.dml import ReturningUpdate


@dataclass(frozen=True)
class RelayStatements:
    claim: ReturningUpdate[Any]
    mark_sent: Update
    release: Update
    unclaim: Update
    lag: Select[Any]
    purge: Delete

    @classmethod
    def for_table(cls, table: Table, *, lease_seconds: float) -> RelayStatements:
        t = table
        now = func.now()
        claimable = (
            select(t.c.id)
            .where(
                t.c.sent_at.is_(None),
                t.c.available_at <= now,
                or_(t.c.claimed_until.is_(None), t.c.claimed_until < now),
            )
            .order_by(t.c.id)
            .limit(bindparam("limit"))
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        claim = (
            update(t)
            .where(t.c.id.in_(claimable))
            .values(
                claimed_until=now + timedelta(seconds=lease_seconds),
                claim_token=bindparam("token"),
                attempts=t.c.attempts + 1,
            )
            .returning(
                t.c.id,
                t.c.message_id,
                t.c.message_type,
                t.c.exchange,
                t.c.routing_key,
                t.c.mandatory,
                t.c.correlation_id,
                t.c.headers,
                t.c.body,
                t.c.created_at,
            )
        )
        mark_sent = (
            update(t)
            .where(
                t.c.id.in_(bindparam("ids", expanding=True)), t.c.claim_token == bindparam("token")
            )
            .values(sent_at=now, claimed_until=None, claim_token=None, last_error=None)
        )
        release = (
            update(t)
            .where(and_(t.c.id == bindparam("row_id"), t.c.claim_token == bindparam("token")))
            .values(
                claimed_until=None,
                claim_token=None,
                last_error=bindparam("error"),
                available_at=now + bindparam("delay", type_=Interval()),
            )
        )
        unclaim = (
            update(t)
            .where(t.c.claim_token == bindparam("token"), t.c.sent_at.is_(None))
            .values(claimed_until=None, claim_token=None)
        )
        # a row staged for later (``available_at`` ahead, never tried) is pending from its time
        pending_since = case((t.c.attempts == 0, t.c.available_at), else_=t.c.created_at)
        lag = select(func.coalesce(func.extract("epoch", now - func.min(pending_since)), 0)).where(
            t.c.sent_at.is_(None), pending_since <= now
        )
        age = bindparam("age", type_=Interval())
        purge = delete(t).where(t.c.sent_at.isnot(None), t.c.sent_at < now - age)
        return cls(claim, mark_sent, release, unclaim, lag, purge)
