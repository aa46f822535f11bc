"""Two blocks of periodic jobs in one app (messaging's retention job and the service's own jobs)
count into one set of ``periodic_job_*`` metrics instead of registering it twice."""

from __future__ import annotations

import asyncio

from common.periodic import PeriodicJob, run_periodic_jobs

from tests.unit.common.app_stub import app_with_registry


async def test_two_job_blocks_of_one_app_share_the_registry_metrics() -> None:
    app, registry = app_with_registry()
    done = {"a": asyncio.Event(), "b": asyncio.Event()}

    def job(name: str) -> PeriodicJob:
        async def one_round() -> int:
            done[name].set()
            return 1

        return PeriodicJob(name, 0.01, one_round)

    async with run_periodic_jobs(app, [job("a")]), run_periodic_jobs(app, [job("b")]):
        async with asyncio.timeout(10):
            await done["a"].wait()
            await done["b"].wait()
    for name in done:
        labels = {"job": name, "outcome": "ok"}
        assert (registry.get_sample_value("periodic_job_rounds_total", labels) or 0) >= 1


def test_the_first_round_can_be_capped_below_a_long_interval() -> None:
    job = PeriodicJob("long", 3600, lambda: asyncio.sleep(0, 0), first_round_within_seconds=60)
    assert all(0 <= job.first_delay() <= 60 for _ in range(200))
    assert PeriodicJob("plain", 5, lambda: asyncio.sleep(0, 0)).first_delay() <= 5
