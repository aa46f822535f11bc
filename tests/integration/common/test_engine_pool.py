"""A service's engine under more concurrent work than its pool holds, on the real Postgres:
every unit of work waits for a pooled connection, and the same backends serve every wave. An
overflow connection is closed when it is returned, so a pool with overflow opens a new backend
(a fork and a cold catalog cache on the shared server) for the excess of every wave."""

from __future__ import annotations

import asyncio

from common.database import make_engine
from common.settings import DatabaseSettings
from sqlalchemy import text

from tests.support.isolation import RunInfra

WAVES = 5


async def backends_over_waves(settings: DatabaseSettings) -> set[int]:
    """The distinct backend pids that served WAVES waves of twice the pool's size at once."""
    engine = make_engine(settings)
    pids: set[int] = set()

    async def one_unit_of_work() -> None:
        async with engine.connect() as conn:
            pids.add(int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()))
            await asyncio.sleep(0.05)  # the work, holding its connection

    try:
        for _ in range(WAVES):
            await asyncio.gather(*(one_unit_of_work() for _ in range(2 * settings.db_pool_size)))
    finally:
        await engine.dispose()
    return pids


async def test_the_default_pool_serves_every_wave_with_the_same_backends(infra: RunInfra) -> None:
    settings = DatabaseSettings(database_url=infra.database_url, db_pool_size=4)
    assert settings.db_max_overflow == 0
    assert len(await backends_over_waves(settings)) == 4


async def test_an_overflow_opens_new_backends_for_every_wave(infra: RunInfra) -> None:
    """Why there is none by default: the comparison the test above is checked against."""
    settings = DatabaseSettings(database_url=infra.database_url, db_pool_size=4, db_max_overflow=4)
    assert len(await backends_over_waves(settings)) > 4 + 4
