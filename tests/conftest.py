"""Shared fixtures. ``infra`` isolates a run on the real servers; unit tests never request it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

# pytest rewrites asserts in test modules and conftests only; the shared helpers assert too,
# so they are registered before the first of them is imported
pytest.register_assert_rewrite("tests.support")

from tests.support import isolation  # noqa: E402
from tests.support.isolation import RunInfra  # noqa: E402
from tests.support.migrate import migrate_all  # noqa: E402

pytest_plugins = ["tests.fakes.fixtures"]

# The apps the tests start in this process keep Python's collector: a service freezes its heap
# once started (``common.gc_tuning``), which here would keep every test's cycles to the end.
# Services started as processes (e2e, chaos) inherit it too, and behave as before.
os.environ.setdefault("GC_GEN0_THRESHOLD", "0")


@pytest.fixture(scope="session")
async def infra() -> AsyncIterator[RunInfra]:
    await isolation.sweep_stale()
    run = await isolation.create(isolation.new_run_id())
    try:
        await asyncio.to_thread(migrate_all, run.database_url)
        yield run
    finally:
        await isolation.drop(run)
