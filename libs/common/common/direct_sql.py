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

A connection goes back to the pool without asyncpg's reset query (``pg_advisory_unlock_all()``,
``CLOSE ALL``, ``UNLISTEN *``, ``RESET ALL``: one more round trip per statement): a single
autocommit statement leaves no session state behind (no transaction, cursor, listener, advisory
lock or ``SET``). An open transaction would still be rolled back by the pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
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
        span = start_statement_span(
            statement.sql,
            system="postgresql",
            database=self._database,
            host=self._host,
            port=self._port,
        )
        try:
            async with self._pool.acquire() as conn:
                row: asyncpg.Record | None = await conn.fetchrow(statement.sql, *arguments)
        except _DRIVER_ERRORS as exc:
            end_failed(span, exc)
            raise DirectSqlError(type(exc).__name__) from exc
        span.end()
        return row


async def _nothing_to_reset(_: asyncpg.Connection) -> None:
    """Single autocommit statements leave no session state (module docstring)."""


@asynccontextmanager
async def open_direct_pool(settings: DatabaseSettings) -> AsyncIterator[DirectPool]:
    """A pool of up to ``DB_POOL_SIZE`` connections, opened on first use, closed on exit."""
    url = make_url(settings.database_url)
    pool = asyncpg.create_pool(
        url.set(drivername="postgresql").render_as_string(hide_password=False),
        min_size=0,
        max_size=settings.db_pool_size,
        timeout=5,
        reset=_nothing_to_reset,
        server_settings={
            "search_path": f"{settings.db_schema},public",
            "statement_timeout": str(settings.db_statement_timeout_ms),
            "application_name": "nerava",
        },
    )
    await pool
    try:
        yield DirectPool(
            pool, database=url.database or "", host=url.host or "", port=url.port or 5432
        )
    finally:
        await pool.close()
