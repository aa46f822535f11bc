"""Housekeeping: deletes login sessions (with their refresh tokens) that are long dead.

A session is dead once it expired (``expires_at``) or was revoked (``revoked_at``). It is kept
``SESSION_PURGE_RETENTION_DAYS`` (default 30) beyond that, so a token of it still answers
``session_expired`` / ``session_revoked`` (reuse of a revoked family included) instead of
``refresh_token_invalid``; afterwards the rows go. An idle session goes at its absolute expiry
plus the retention.

The purge runs in every replica, every ``SESSION_PURGE_INTERVAL_SECONDS`` (the first round a
random moment within the first interval, at most a minute, after startup). One round deletes
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

A failed round (Postgres away, a lock timeout) is logged as a warning and the loop goes on.
Counts are logged and exported as ``auth_session_purge_*`` Prometheus counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from common.database import Database
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import Interval, Select, bindparam, delete, func, or_, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from auth.tables import login_sessions, refresh_tokens

logger = logging.getLogger(__name__)

LOCK_TIMEOUT = "500ms"
_FIRST_ROUND_MAX_DELAY_SECONDS = 60.0


@dataclass(frozen=True)
class PurgeConfig:
    retention: timedelta
    interval_seconds: float
    batch_size: int


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


async def purge_batch(conn: AsyncConnection, *, retention: timedelta, limit: int) -> PurgedBatch:
    """Deletes up to ``limit`` dead sessions and their tokens in ``conn``'s transaction."""
    await conn.execute(text("SELECT set_config('lock_timeout', :v, true)"), {"v": LOCK_TIMEOUT})
    row = (await conn.execute(_PURGE, {"retention": retention, "limit": limit})).one()
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
        self.rounds = Counter(
            "auth_session_purge_rounds_total",
            "Purge rounds by outcome (ok, failed)",
            ["outcome"],
            registry=registry,
        )


class SessionPurger:
    """The periodic purge of one replica: ``start()`` / ``stop()`` in the lifespan."""

    def __init__(
        self, database: Database, config: PurgeConfig, metrics: PurgeMetrics | None = None
    ) -> None:
        self.database = database
        self.config = config
        self.metrics = metrics or PurgeMetrics()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="auth-session-purge")

    async def stop(self) -> None:
        """Lets the batch in flight finish (one short transaction), then returns."""
        self._stopping.set()
        if self._task is not None:
            await self._task

    async def purge_once(self) -> PurgeRound:
        """One round: batches until one comes back short (or the purger is stopping)."""
        sessions = tokens = batches = 0
        while True:
            async with self.database.engine.begin() as conn:
                batch = await purge_batch(
                    conn, retention=self.config.retention, limit=self.config.batch_size
                )
            batches += 1
            sessions += len(batch.session_ids)
            tokens += batch.tokens
            self.metrics.sessions.inc(len(batch.session_ids))
            self.metrics.tokens.inc(batch.tokens)
            if len(batch.session_ids) < self.config.batch_size or self._stopping.is_set():
                return PurgeRound(sessions=sessions, tokens=tokens, batches=batches)

    async def _run(self) -> None:
        delay = random.uniform(0, min(self.config.interval_seconds, _FIRST_ROUND_MAX_DELAY_SECONDS))
        while not await self._sleep(delay):
            started = time.perf_counter()
            try:
                done = await self.purge_once()
            except (SQLAlchemyError, OSError) as exc:
                self.metrics.rounds.labels("failed").inc()
                logger.warning(
                    "session purge failed; next round as scheduled",
                    extra={"error": type(exc).__name__, "retry_in_s": self.config.interval_seconds},
                )
            else:
                self.metrics.rounds.labels("ok").inc()
                log = logger.info if done.sessions else logger.debug
                log(
                    "session purge done",
                    extra={
                        "sessions_deleted": done.sessions,
                        "refresh_tokens_deleted": done.tokens,
                        "batches": done.batches,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
            delay = self.config.interval_seconds * random.uniform(0.9, 1.1)

    async def _sleep(self, seconds: float) -> bool:
        """Waits ``seconds``; True as soon as the purger is stopping."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        return self._stopping.is_set()
