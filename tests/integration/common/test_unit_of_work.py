"""The unit of work on the real Postgres: commit on success, rollback on any error, an outage is
503 ``dependency_unavailable`` (from the block or the commit), a bug is not disguised as one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from common.database import make_session_factory
from common.errors import Conflict, DependencyUnavailable
from common.periodic import try_advisory_xact_lock
from common.uow import UnitOfWork
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.support.isolation import RunInfra


@pytest.fixture
async def engine(infra: RunInfra) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(infra.database_url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS uow_probe (id uuid PRIMARY KEY)"))
    yield engine
    await engine.dispose()


async def _count(engine: AsyncEngine, row_id: uuid.UUID) -> int:
    async with engine.connect() as conn:
        found = await conn.execute(
            text("SELECT count(*) FROM uow_probe WHERE id = :i"), {"i": row_id}
        )
        return int(found.scalar_one())


async def test_the_block_commits_when_it_ends(engine: AsyncEngine) -> None:
    uow = UnitOfWork(make_session_factory(engine))
    row_id = uuid.uuid4()
    async with uow() as tx:
        await tx.execute(text("INSERT INTO uow_probe VALUES (:i)"), {"i": row_id})
    assert await _count(engine, row_id) == 1


async def test_a_business_error_rolls_back_and_passes_through_unchanged(
    engine: AsyncEngine,
) -> None:
    uow = UnitOfWork(make_session_factory(engine))
    row_id = uuid.uuid4()
    with pytest.raises(Conflict):
        async with uow() as tx:
            await tx.execute(text("INSERT INTO uow_probe VALUES (:i)"), {"i": row_id})
            raise Conflict("no")
    assert await _count(engine, row_id) == 0


async def test_a_database_that_refuses_connections_is_dependency_unavailable() -> None:
    closed = create_async_engine(
        "postgresql+asyncpg://postgres@127.0.0.1:1/none", connect_args={"timeout": 2}
    )
    uow = UnitOfWork(make_session_factory(closed), unavailable_detail="Try again shortly.")
    try:
        with pytest.raises(DependencyUnavailable) as caught:
            async with uow() as tx:
                await tx.execute(text("SELECT 1"))
    finally:
        await closed.dispose()
    assert caught.value.status == 503
    assert caught.value.instance_code == "dependency_unavailable"
    assert caught.value.detail == "Try again shortly."


async def test_a_statement_cancelled_by_its_timeout_is_dependency_unavailable(
    engine: AsyncEngine,
) -> None:
    uow = UnitOfWork(make_session_factory(engine))
    with pytest.raises(DependencyUnavailable):
        async with uow() as tx:
            await tx.execute(text("SET LOCAL statement_timeout = '50ms'"))
            await tx.execute(text("SELECT pg_sleep(2)"))


async def test_a_deferred_constraint_failing_at_commit_is_not_an_outage(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS uow_deferred (id int, "
                "CONSTRAINT uow_deferred_unique UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    uow = UnitOfWork(make_session_factory(engine))
    with pytest.raises(IntegrityError):
        async with uow() as tx:  # raised by COMMIT, after the block
            await tx.execute(text("INSERT INTO uow_deferred VALUES (7), (7)"))


async def test_sql_that_does_not_compile_is_a_bug_not_an_outage(engine: AsyncEngine) -> None:
    uow = UnitOfWork(make_session_factory(engine))
    with pytest.raises(ProgrammingError):
        async with uow() as tx:
            await tx.execute(text("SELECT no_such_column FROM uow_probe"))


async def test_one_transaction_at_a_time_holds_a_named_advisory_lock(engine: AsyncEngine) -> None:
    uow = UnitOfWork(make_session_factory(engine))
    name = f"job-{uuid.uuid4()}"
    both_tried = asyncio.Barrier(2)
    results: list[bool] = []

    async def contender() -> None:
        async with uow() as tx:
            results.append(await try_advisory_xact_lock(tx, name))
            await both_tried.wait()  # both hold their transaction open while the other tries

    await asyncio.gather(contender(), contender())
    assert sorted(results) == [False, True]
    async with uow() as tx:  # released at commit
        assert await try_advisory_xact_lock(tx, name)
