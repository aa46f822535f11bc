"""Background work of every replica: the housekeeping rounds as periodic jobs.

Multi-replica safety is the rounds' own SQL (``FOR UPDATE SKIP LOCKED``, see ``housekeeping``);
a round that handled a full batch asks for the next one at once.
"""

from __future__ import annotations

from common.periodic import PeriodicJob

from sessions import housekeeping
from sessions.deps import Deps
from sessions.settings import SessionsSettings


def periodic_jobs(deps: Deps, settings: SessionsSettings) -> list[PeriodicJob]:
    interval = settings.housekeeping_interval_seconds
    batch = settings.housekeeping_batch_size
    enabled = settings.housekeeping_enabled
    return [
        PeriodicJob(
            "expire-sessions",
            interval,
            lambda: housekeeping.expire_due(deps),
            batch_size=batch,
            enabled=enabled,
        ),
        PeriodicJob(
            "remind-stuck-sessions",
            interval,
            lambda: housekeeping.remind_stuck(deps),
            batch_size=batch,
            enabled=enabled,
        ),
        PeriodicJob(
            "expire-unanswered-sessions",
            interval,
            lambda: housekeeping.give_up_unanswered(deps),
            batch_size=batch,
            enabled=enabled,
        ),
    ]
