"""Shared fixtures. ``infra`` isolates a run on the real servers; unit tests never request it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.support import isolation
from tests.support.isolation import RunInfra
from tests.support.migrate import migrate_all

pytest_plugins = ["tests.fakes.fixtures"]


@pytest.fixture(scope="session")
async def infra() -> AsyncIterator[RunInfra]:
    await isolation.sweep_stale()
    run = await isolation.create(isolation.new_run_id())
    try:
        await asyncio.to_thread(migrate_all, run.database_url)
        yield run
    finally:
        await isolation.drop(run)
