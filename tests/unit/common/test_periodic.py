"""The periodic-job helper: rounds repeat, a failing round is logged and counted and the loop
goes on, a full batch asks for the next round at once, and leaving the block stops every job."""

from __future__ import annotations

import asyncio
import logging

import pytest
from common.periodic import PeriodicJob, run_periodic_jobs
from prometheus_client import CollectorRegistry

from tests.unit.common.app_stub import app_with_registry


async def test_rounds_repeat_and_a_failing_round_does_not_stop_the_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0
    third_round = asyncio.Event()

    async def flaky() -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("database went away")
        if calls >= 3:
            third_round.set()
        return 1

    app, registry = app_with_registry()
    caplog.set_level(logging.ERROR, logger="common.periodic")
    async with run_periodic_jobs(app, [PeriodicJob("flaky", 0.01, flaky, jitter_ratio=0.5)]):
        async with asyncio.timeout(10):
            await third_round.wait()
    assert _sample(registry, "periodic_job_rounds_total", job="flaky", outcome="failed") == 1
    assert _sample(registry, "periodic_job_rounds_total", job="flaky", outcome="ok") >= 2
    assert _sample(registry, "periodic_job_items_total", job="flaky") >= 2
    [failure] = [r for r in caplog.records if r.name == "common.periodic"]
    assert failure.exc_info is not None  # logged with its stack
    assert failure.__dict__["job"] == "flaky"


async def test_a_backlog_drains_in_back_to_back_rounds_then_waits_an_interval() -> None:
    backlog = [500, 500, 120]
    drained = asyncio.Event()

    async def sweep() -> int:
        handled = backlog.pop(0)
        if not backlog:
            drained.set()
        return handled

    job = PeriodicJob("sweep", 0.05, sweep, batch_size=500, jitter_ratio=0)
    assert job.next_delay(500) == 0  # a full batch: at once
    assert job.next_delay(120) == 0.05  # a short one: the interval
    async with run_periodic_jobs(None, [job]):
        async with asyncio.timeout(10):
            await drained.wait()
    assert backlog == []  # three rounds, none beyond the backlog before the block ended


async def test_leaving_the_block_cancels_a_round_in_flight() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def slow() -> int:
        started.set()
        try:
            await asyncio.Event().wait()  # a round that would never end by itself
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return 0

    async with run_periodic_jobs(None, [PeriodicJob("slow", 0.01, slow, jitter_ratio=0)]):
        async with asyncio.timeout(10):
            await started.wait()
    assert cancelled.is_set()


def test_a_job_needs_a_positive_interval_and_a_jitter_below_one() -> None:
    async def nothing() -> int:
        return 0

    with pytest.raises(ValueError, match="interval"):
        PeriodicJob("bad", 0, nothing)
    with pytest.raises(ValueError, match="jitter"):
        PeriodicJob("bad", 1, nothing, jitter_ratio=1)


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value
