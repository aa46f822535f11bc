"""Housekeeping: deletes login sessions (with their refresh tokens) that are long dead.

A session is dead once it expired (``expires_at``) or was revoked (``revoked_at``). It is kept
``SESSION_PURGE_RETENTION_DAYS`` (default 30) beyond that, so a token of it still answers
``session_expired`` / ``session_revoked`` (reuse of a revoked family included) instead of
``refresh_token_invalid``; afterwards the rows go. An idle session goes at its absolute expiry
plus the retention.

The purge is a ``common.periodic`` job (``auth.jobs``) in every replica, every
``SESSION_PURGE_INTERVAL_SECONDS`` (the first round a random moment within the first interval,
at most a minute, after startup). One round deletes
batches of at most ``SESSION_PURGE_BATCH_SIZE`` sessions until a batch comes back short; each
batch is one short transaction:

- the sessions are picked with ``FOR UPDATE SKIP LOCKED``: replicas purging at the same time
  take disjoint batches, and a session a refresh or logout holds is left for a later round;
- their refresh tokens go in the same statement (tokens only ever chain within one session, so
  the ``parent_id`` cascade never reaches another replica's batch);
- ``lock_timeout`` is short: a refresh holds a token row before its session row, the purge the
  other way round, so on that rare collision the purge gives way (the batch is retried next
  round) instead of a refresh waiting or becoming a deadlock victim.

No index serves the search: a batch scans ``login_sessions`` until it has found its rows. That
runs off the request path, once an interval; an index on ``expires_at`` would instead cost every
sign-in an index insert.

A failed round (Postgres away, a lock timeout: ``DependencyUnavailable`` from the unit of work)
is logged and counted by the periodic job (``periodic_job_rounds_total{job="session-purge",
outcome="failed"}``) and the next round comes as scheduled. Deleted rows are logged per round
and exported as ``auth_session_purge_sessions_total`` / ``auth_session_purge_refresh_tokens_total``.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from common.uow import UnitOfWorkFactory
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import Interval, Select, bindparam, delete, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.settings import AuthSettings
from auth.tables import login_sessions, refresh_tokens

logger = logging.getLogger(__name__)

LOCK_TIMEOUT = "500ms"
FIRST_ROUND_WITHIN_SECONDS = 60.0


@dataclass(frozen=True)
class PurgeConfig:
    retention: timedelta
    interval_seconds: float
    batch_size: int

    @classmethod
    def of(cls, settings: AuthSettings) -> PurgeConfig:
        return cls(
            retention=timedelta(days=settings.session_purge_retention_days),
            interval_seconds=settings.session_purge_interval_seconds,
            batch_size=settings.session_purge_batch_size,
        )


@dataclass(frozen=True)
class PurgedBatch:
    session_ids: list[uuid.UUID]
    tokens: int


@dataclass(frozen=True)
class PurgeRound:
    sessions: int
    tokens: int
    batches: int


def _purge_statement() -> Select[Any]:
    s, t = login_sessions, refresh_tokens
    cutoff = func.now() - bindparam("retention", type_=Interval())
    doomed = (
        select(s.c.id)
        .where(or_(s.c.expires_at < cutoff, s.c.revoked_at < cutoff))
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
        .cte("doomed")
    )
    tokens = (
        delete(t).where(t.c.session_id.in_(select(doomed.c.id))).returning(t.c.id).cte("tokens")
    )
    sessions = delete(s).where(s.c.id.in_(select(doomed.c.id))).returning(s.c.id).cte("sessions")
    return select(
        select(func.array_agg(sessions.c.id)).scalar_subquery(),
        select(func.count()).select_from(tokens).scalar_subquery(),
    )


_PURGE = _purge_statement()


async def purge_batch(tx: AsyncSession, *, retention: timedelta, limit: int) -> PurgedBatch:
    """Deletes up to ``limit`` dead sessions and their tokens in ``tx``'s transaction."""
    await tx.execute(text("SELECT set_config('lock_timeout', :v, true)"), {"v": LOCK_TIMEOUT})
    row = (await tx.execute(_PURGE, {"retention": retention, "limit": limit})).one()
    return PurgedBatch(session_ids=list(row[0] or []), tokens=int(row[1]))


class PurgeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry or CollectorRegistry()
        self.sessions = Counter(
            "auth_session_purge_sessions_total",
            "Dead login sessions deleted by this replica's purge",
            registry=registry,
        )
        self.tokens = Counter(
            "auth_session_purge_refresh_tokens_total",
            "Refresh tokens deleted with them",
            registry=registry,
        )


async def purge_dead_sessions(
    uow: UnitOfWorkFactory, config: PurgeConfig, metrics: PurgeMetrics | None = None
) -> PurgeRound:
    """One round: batches, each its own transaction, until one comes back short."""
    started = time.perf_counter()
    sessions = tokens = batches = 0
    while True:
        async with uow() as tx:
            batch = await purge_batch(tx, retention=config.retention, limit=config.batch_size)
        batches += 1
        sessions += len(batch.session_ids)
        tokens += batch.tokens
        if metrics is not None:
            metrics.sessions.inc(len(batch.session_ids))
            metrics.tokens.inc(batch.tokens)
        if len(batch.session_ids) < config.batch_size:
            break
    log = logger.info if sessions else logger.debug
    log(
        "session purge done",
        extra={
            "sessions_deleted": sessions,
            "refresh_tokens_deleted": tokens,
            "batches": batches,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return PurgeRound(sessions=sessions, tokens=tokens, batches=batches)
