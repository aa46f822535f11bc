"""A transaction on the direct asyncpg pool (``UnitOfWork.direct_transaction``), on the real
Postgres: commit on success, rollback on any error, an outage is 503 ``dependency_unavailable``
(from the block or the commit), a bug is not disguised as one, and every connection goes back
to the pool clean (no open transaction), without a reset round trip."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from common.database import make_session_factory
from common.direct_sql import DirectPool, compile_statement, open_direct_pool
from common.errors import Conflict, DependencyUnavailable
from common.settings import DatabaseSettings
from common.uow import UnitOfWork
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.support.isolation import RunInfra

INSERT = compile_statement(text("INSERT INTO direct_probe VALUES (CAST(:i AS uuid)) RETURNING id"))
DEFERRED = compile_statement(text("INSERT INTO direct_deferred VALUES (7), (7) RETURNING id"))
BROKEN = compile_statement(text("SELECT no_such_column FROM direct_probe"))
SLEEP = compile_statement(text("SELECT pg_sleep(2)"))
STATE = compile_statement(
    text(
        "SELECT count(*) AS open FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
    )
)


@pytest.fixture
async def engine(infra: RunInfra) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(infra.database_url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS direct_probe (id uuid PRIMARY KEY)"))
        await conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS direct_deferred (id int, "
                "CONSTRAINT direct_deferred_unique UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    yield engine
    await engine.dispose()


@pytest.fixture
async def direct(infra: RunInfra, engine: AsyncEngine) -> AsyncIterator[DirectPool]:
    settings = DatabaseSettings(
        database_url=infra.database_url, db_pool_size=1, db_statement_timeout_ms=300
    )
    async with open_direct_pool(settings) as pool:
        yield pool


def _uow(engine: AsyncEngine, direct: DirectPool) -> UnitOfWork:
    return UnitOfWork(make_session_factory(engine), direct_pool=direct)


async def _count(engine: AsyncEngine, row_id: uuid.UUID) -> int:
    async with engine.connect() as conn:
        found = await conn.execute(
            text("SELECT count(*) FROM direct_probe WHERE id = :i"), {"i": row_id}
        )
        return int(found.scalar_one())


async def _clean(uow: UnitOfWork) -> None:
    """The pool's one connection is back (it answers) and no session of this database is left
    idle inside a transaction."""
    async with asyncio.timeout(10):
        row = await uow.direct(STATE, {})
    assert row is not None and row["open"] == 0


async def test_the_block_commits_when_it_ends(engine: AsyncEngine, direct: DirectPool) -> None:
    uow = _uow(engine, direct)
    first, second = uuid.uuid4(), uuid.uuid4()
    async with uow.direct_transaction() as tx:
        await tx.fetchrow(INSERT, {"i": first})
        await tx.fetchrow(INSERT, {"i": second})
        assert await _count(engine, first) == 0  # not visible before COMMIT
    assert await _count(engine, first) == await _count(engine, second) == 1
    await _clean(uow)


async def test_a_business_error_rolls_back_and_passes_through_unchanged(
    engine: AsyncEngine, direct: DirectPool
) -> None:
    uow = _uow(engine, direct)
    row_id = uuid.uuid4()
    with pytest.raises(Conflict):
        async with uow.direct_transaction() as tx:
            await tx.fetchrow(INSERT, {"i": row_id})
            raise Conflict("no")
    assert await _count(engine, row_id) == 0
    await _clean(uow)


async def test_a_block_without_statements_takes_no_connection(
    engine: AsyncEngine, direct: DirectPool
) -> None:
    uow = _uow(engine, direct)
    # the pool's one connection stays free while the outer block runs no statement
    async with uow.direct_transaction(), uow.direct_transaction() as inner:
        await inner.fetchrow(INSERT, {"i": uuid.uuid4()})


async def test_a_statement_cancelled_by_its_timeout_is_dependency_unavailable(
    engine: AsyncEngine, direct: DirectPool
) -> None:
    uow = _uow(engine, direct)
    row_id = uuid.uuid4()
    with pytest.raises(DependencyUnavailable):
        async with uow.direct_transaction() as tx:
            await tx.fetchrow(INSERT, {"i": row_id})
            await tx.fetchrow(SLEEP, {})
    assert await _count(engine, row_id) == 0
    await _clean(uow)


async def test_a_deferred_constraint_failing_at_commit_is_not_an_outage(
    engine: AsyncEngine, direct: DirectPool
) -> None:
    uow = _uow(engine, direct)
    with pytest.raises(asyncpg.UniqueViolationError):
        async with uow.direct_transaction() as tx:  # raised by COMMIT, after the block
            await tx.fetchrow(DEFERRED, {})
    await _clean(uow)


async def test_sql_that_does_not_compile_is_a_bug_not_an_outage(
    engine: AsyncEngine, direct: DirectPool
) -> None:
    uow = _uow(engine, direct)
    with pytest.raises(asyncpg.UndefinedColumnError):
        async with uow.direct_transaction() as tx:
            await tx.fetchrow(BROKEN, {})
    await _clean(uow)


async def test_a_database_that_refuses_connections_is_dependency_unavailable(
    engine: AsyncEngine,
) -> None:
    settings = DatabaseSettings(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none")
    async with open_direct_pool(settings) as closed:
        uow = UnitOfWork(make_session_factory(engine), direct_pool=closed)
        with pytest.raises(DependencyUnavailable) as caught:
            async with uow.direct_transaction() as tx:
                await tx.fetchrow(STATE, {})
    assert caught.value.instance_code == "dependency_unavailable"
