"""The auth service's periodic jobs (``common.periodic``), started by ``main.py``."""

from __future__ import annotations

from common.periodic import PeriodicJob
from prometheus_client import CollectorRegistry

from auth.deps import Deps
from auth.session_purge import (
    FIRST_ROUND_WITHIN_SECONDS,
    PurgeConfig,
    PurgeMetrics,
    purge_dead_sessions,
)

SESSION_PURGE = "session-purge"


def session_purge_job(deps: Deps, metrics: PurgeMetrics) -> PeriodicJob:
    config = PurgeConfig.of(deps.settings)

    async def purge_round() -> int:
        return (await purge_dead_sessions(deps.uow, config, metrics)).sessions

    return PeriodicJob(
        SESSION_PURGE,
        config.interval_seconds,
        purge_round,
        enabled=deps.settings.session_purge_enabled,
        first_round_within_seconds=FIRST_ROUND_WITHIN_SECONDS,
    )


def periodic_jobs(deps: Deps, registry: CollectorRegistry | None) -> list[PeriodicJob]:
    return [session_purge_job(deps, PurgeMetrics(registry))]
