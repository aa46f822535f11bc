"""One SQLAlchemy Core statement, compiled once, run straight on an asyncpg pool.

For a hot path's single self-contained statement (autocommit: it is atomic on its own). Through
an ``AsyncEngine`` such a statement costs about 300 µs of CPU on top of the driver here: the
connection wrapper, the isolation-level characteristic set and reset, the greenlet hop and
result processing — several times the statement itself. The statement stays a Core construct
(one place for the SQL, typed by the tables); :func:`compile_statement` turns it into
PostgreSQL text with ``$n`` placeholders once, and :class:`DirectPool` runs it on a small
asyncpg pool of its own (same server settings as the engine: schema search path, statement
timeout) with one client span per statement, like the engine's (``common.sql_spans``).

Every failure of the database or the driver surfaces as :class:`DirectSqlError` (the caller
answers 503); a connection broken by a server restart fails one call and leaves the pool.

The statements run here are the service's own and never change session state (no ``SET``,
``LISTEN``, cursor or session-level advisory lock; ``pg_advisory_xact_lock`` is fine: the
statement's own transaction releases it), so a connection goes back to the pool without
asyncpg's reset query (:func:`keep_session`: one round trip per release saved); an open
transaction is still rolled back by the pool.

:meth:`DirectPool.transaction` runs several such statements in one transaction (a hot path's
unit of work): the connection is taken and ``BEGIN`` sent at the first statement, ``COMMIT``
on a clean exit, ``ROLLBACK`` when the block raises. Inside it the driver's own exceptions pass
through unchanged (the unit of work tells an outage from a programming error, as it does for
the engine: ``common.uow``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from opentelemetry.trace import Span
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.sql import ClauseElement

from common.settings import DatabaseSettings
from common.sql_spans import end_failed, start_statement_span

_DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError)


class DirectSqlError(Exception):
    """The statement did not complete: the database or the connection failed."""


@dataclass(frozen=True)
class DirectStatement:
    sql: str
    names: tuple[str, ...]
    defaults: Mapping[str, Any]

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        """Positional arguments for ``$1..$n``; a missing parameter is a KeyError."""
        return [params[n] if n in params else self.defaults[n] for n in self.names]


def compile_statement(statement: ClauseElement) -> DirectStatement:
    compiled = statement.compile(dialect=asyncpg_dialect())  # type: ignore[no-untyped-call]
    names = tuple(getattr(compiled, "positiontup", None) or ())
    literals = {k: v for k, v in compiled.params.items() if v is not None}
    return DirectStatement(sql=str(compiled), names=names, defaults=literals)


class DirectPool:
    def __init__(self, pool: asyncpg.Pool, *, database: str, host: str, port: int) -> None:
        self._pool = pool
        self._database, self._host, self._port = database, host, port

    async def fetchrow(
        self, statement: DirectStatement, params: Mapping[str, Any]
    ) -> asyncpg.Record | None:
        arguments = statement.arguments(params)
        span = self.statement_span(statement.sql)
        try:
            async with self._pool.acquire() as conn:
                row: asyncpg.Record | None = await conn.fetchrow(statement.sql, *arguments)
        except _DRIVER_ERRORS as exc:
            end_failed(span, exc)
            raise DirectSqlError(type(exc).__name__) from exc
        span.end()
        return row

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[DirectTransaction]:
        """One transaction: committed when the block exits cleanly, rolled back when it raises.
        A block that ran no statement touches no connection."""
        transaction = DirectTransaction(self)
        try:
            yield transaction
        except BaseException:
            await transaction.end(commit=False)
            raise
        await transaction.end(commit=True)

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    def statement_span(self, sql: str) -> Span:
        """A started client span for one statement on this pool (the caller ends it)."""
        return start_statement_span(
            sql, system="postgresql", database=self._database, host=self._host, port=self._port
        )


class DirectTransaction:
    """The statements of one transaction on one pooled connection (``DirectPool.transaction``)."""

    def __init__(self, pool: DirectPool) -> None:
        self._owner = pool
        self._conn: asyncpg.pool.PoolConnectionProxy[Any] | None = None
        self._transaction: asyncpg.transaction.Transaction | None = None

    async def fetchrow(
        self, statement: DirectStatement, params: Mapping[str, Any]
    ) -> asyncpg.Record | None:
        arguments = statement.arguments(params)
        conn = self._conn if self._conn is not None else await self._begin()
        span = self._owner.statement_span(statement.sql)
        try:
            row: asyncpg.Record | None = await conn.fetchrow(statement.sql, *arguments)
        except BaseException as exc:
            end_failed(span, exc)
            raise
        span.end()
        return row

    async def _begin(self) -> asyncpg.pool.PoolConnectionProxy[Any]:
        conn = await self._owner.pool.acquire()
        self._conn = conn
        transaction = conn.transaction()
        await transaction.start()
        self._transaction = transaction
        return conn

    async def end(self, *, commit: bool) -> None:
        """COMMIT (or ROLLBACK) and give the connection back; nothing when no statement ran."""
        conn, transaction = self._conn, self._transaction
        self._conn = self._transaction = None
        if conn is None:
            return
        try:
            if transaction is not None and commit:
                span = self._owner.statement_span("COMMIT")
                try:
                    await transaction.commit()
                except BaseException as exc:
                    end_failed(span, exc)
                    raise
                span.end()
            elif transaction is not None:
                # The block's own exception is what the caller sees; a connection too broken to
                # roll back is closed by the pool on release (the server rolls back then).
                with contextlib.suppress(*_DRIVER_ERRORS):
                    await transaction.rollback()
        finally:
            await self._owner.pool.release(conn)


async def keep_session(connection: asyncpg.Connection) -> None:
    """The pool's ``reset``: nothing to undo beyond the open transaction asyncpg rolls back."""


@asynccontextmanager
async def open_direct_pool(settings: DatabaseSettings) -> AsyncIterator[DirectPool]:
    """A pool of up to ``DB_POOL_SIZE`` connections, opened on first use, closed on exit."""
    url = make_url(settings.database_url)
    pool = asyncpg.create_pool(
        url.set(drivername="postgresql").render_as_string(hide_password=False),
        min_size=0,
        max_size=settings.db_pool_size,
        timeout=5,
        reset=keep_session,
        server_settings={
            "search_path": f"{settings.db_schema},public",
            "statement_timeout": str(settings.db_statement_timeout_ms),
            "application_name": f"nerava-{settings.db_schema}",
        },
    )
    await pool
    try:
        yield DirectPool(
            pool, database=url.database or "", host=url.host or "", port=url.port or 5432
        )
    finally:
        await pool.close()
