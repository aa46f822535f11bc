"""Periodic jobs: the one loop every sweeper, purge and reconciler runs on.

A job is a name, an interval and one round (an async function returning how many items it
handled). :func:`run_periodic_jobs` runs each job in its own task in every replica: the first
round after a random fraction of the interval (at most ``first_round_within_seconds``, for a
long interval whose first round should not wait for it), then every interval ±
``jitter_ratio`` (replicas drift apart instead of waking together). A round that raises is
logged with its stack and counted (``periodic_job_rounds_total{outcome="failed"}``) and the
next round comes as scheduled: one failure never stops the loop. A round that handled a full
batch may ask for the next one at once by returning ``PeriodicJob.batch_size`` or more (a
backlog drains without waiting).

Safety with N replicas is the round's own business: claim rows with ``FOR UPDATE SKIP LOCKED``
or take a transaction-level advisory lock (:func:`try_advisory_xact_lock`). On exit every job is
cancelled and awaited (a round in flight is interrupted at its next await; its transaction rolls
back). In a service's ``jobs.py``::

    def periodic_jobs(deps: Deps, settings: SessionsSettings) -> list[PeriodicJob]:
        return [PeriodicJob("expire-sessions", settings.expiry_interval_seconds,
                            lambda: expire_due_sessions(deps), batch_size=500)]
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import weakref
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

logger = logging.getLogger(__name__)

Round = Callable[[], Awaitable[int]]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval_seconds: float
    run: Round
    jitter_ratio: float = 0.1
    batch_size: int | None = None
    enabled: bool = True
    first_round_within_seconds: float | None = None  # cap of the first delay (long intervals)

    def __post_init__(self) -> None:
        if self.interval_seconds <= 0:
            raise ValueError(f"{self.name}: interval_seconds must be positive")
        if not 0 <= self.jitter_ratio < 1:
            raise ValueError(f"{self.name}: jitter_ratio must be in [0, 1)")

    def first_delay(self) -> float:
        cap = self.interval_seconds
        if self.first_round_within_seconds is not None:
            cap = min(cap, self.first_round_within_seconds)
        return random.uniform(0, cap)

    def next_delay(self, handled: int) -> float:
        if self.batch_size is not None and handled >= self.batch_size:
            return 0.0
        spread = self.interval_seconds * self.jitter_ratio
        return self.interval_seconds + random.uniform(-spread, spread)


class PeriodicJobMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.rounds = Counter(
            "periodic_job_rounds_total",
            "Rounds of periodic jobs by outcome",
            ["job", "outcome"],
            registry=registry,
        )
        self.items = Counter(
            "periodic_job_items_total",
            "Items handled by periodic jobs",
            ["job"],
            registry=registry,
        )
        self.last_success = Gauge(
            "periodic_job_last_success_timestamp_seconds",
            "Unix time of each job's last successful round",
            ["job"],
            registry=registry,
        )


_SHARED: weakref.WeakKeyDictionary[CollectorRegistry, PeriodicJobMetrics] = (
    weakref.WeakKeyDictionary()
)


def metrics_for(registry: CollectorRegistry | None) -> PeriodicJobMetrics:
    """The job metrics of ``registry``: one set per registry, however many
    :func:`run_periodic_jobs` blocks an app opens (messaging's retention job and the service's
    own jobs both count into ``periodic_job_rounds_total``)."""
    if registry is None:
        return PeriodicJobMetrics(None)
    metrics = _SHARED.get(registry)
    if metrics is None:
        metrics = _SHARED[registry] = PeriodicJobMetrics(registry)
    return metrics


async def run_round(job: PeriodicJob, metrics: PeriodicJobMetrics) -> int:
    """One round: its count, or 0 after a failure that was logged and counted."""
    try:
        handled = await job.run()
    except asyncio.CancelledError:
        raise
    except Exception:
        metrics.rounds.labels(job.name, "failed").inc()
        logger.exception(
            "periodic job round failed; next round as scheduled",
            extra={"job": job.name, "retry_in_s": job.interval_seconds},
        )
        return 0
    metrics.rounds.labels(job.name, "ok").inc()
    metrics.items.labels(job.name).inc(handled)
    metrics.last_success.labels(job.name).set(time.time())
    return handled


async def _loop(job: PeriodicJob, metrics: PeriodicJobMetrics) -> None:
    await asyncio.sleep(job.first_delay())
    while True:
        handled = await run_round(job, metrics)
        await asyncio.sleep(job.next_delay(handled))


@contextlib.asynccontextmanager
async def run_periodic_jobs(
    app: FastAPI | None, jobs: Sequence[PeriodicJob]
) -> AsyncIterator[PeriodicJobMetrics]:
    """Runs every enabled job until the block exits; metrics go to the app's registry."""
    registry = getattr(app.state, "metrics_registry", None) if app is not None else None
    metrics = metrics_for(registry)
    tasks = [
        asyncio.create_task(_loop(job, metrics), name=f"periodic-{job.name}")
        for job in jobs
        if job.enabled
    ]
    try:
        yield metrics
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def try_advisory_xact_lock(tx: AsyncSession, name: str) -> bool:
    """Takes the transaction-level advisory lock named ``name`` if no other transaction holds
    it (released at commit/rollback): one replica runs a singleton round, the others skip."""
    key = zlib.crc32(name.encode())
    return bool((await tx.execute(select(func.pg_try_advisory_xact_lock(key)))).scalar())
