"""The unit of work: the one way a handler opens a transaction.

In a handler (the only place a transaction commits)::

    async with deps.uow() as tx:                 # an AsyncSession inside BEGIN
        row = await repository.get_merchant(tx, merchant_id)
        await outbox.add(tx, MerchantUpdatedV1(...))
    # committed on exit; rolled back when the block raises

A database that cannot answer (connection refused or lost, a timeout, a statement cancelled by
``statement_timeout``, a serialization failure or deadlock) surfaces as
:class:`~common.errors.DependencyUnavailable` (503 ``dependency_unavailable``, retryable), from
the block or from the commit, in this one place. Errors of the caller's own (the service's
``AppError`` subclasses) and programming errors (a constraint the code should have prevented, SQL
that does not compile) pass through unchanged: they are not outages.

``UnitOfWork.direct(statement, params)`` runs one self-contained Core statement on the direct
asyncpg pool (``common.direct_sql``) where a service keeps one for a hot path, with the same
error mapping. ``async with uow.direct_transaction() as tx`` is a hot path's whole transaction
on that pool (``await tx.fetchrow(statement, params)``), committed on exit, with the same error
mapping as the engine's transactions (outages -> 503; the caller's errors pass through).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.direct_sql import DirectPool, DirectSqlError, DirectStatement, DirectTransaction
from common.errors import DependencyUnavailable

# SQLSTATE classes and codes that mean "try again": connection exceptions, insufficient
# resources, operator intervention (admin shutdown, query cancelled), serialization / deadlock.
_RETRYABLE_SQLSTATE_PREFIXES = ("08", "53", "57", "40001", "40P01", "55P03")


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` says the database could not answer, rather than that the request or
    the code is wrong."""
    if isinstance(exc, OSError | asyncio.TimeoutError | DirectSqlError):
        return True
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        return _retryable_sqlstate(exc.orig)
    if isinstance(exc, asyncpg.PostgresError):
        return _retryable_sqlstate(exc)
    return isinstance(exc, asyncpg.InterfaceError)


def _retryable_sqlstate(error: BaseException | None) -> bool:
    cause: BaseException | None = error
    while cause is not None:
        state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if isinstance(state, str):
            return state.startswith(_RETRYABLE_SQLSTATE_PREFIXES)
        if isinstance(cause, OSError | asyncio.TimeoutError):
            return True
        cause = cause.__cause__
    return False


class UnitOfWorkFactory(Protocol):
    """What a service's ``deps.uow`` is: ``async with deps.uow() as tx``."""

    def __call__(self) -> AbstractAsyncContextManager[AsyncSession]: ...


class UnitOfWork:
    """Opens transactions on a service's session factory; see the module docstring."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        direct_pool: DirectPool | None = None,
        unavailable_detail: str = "The service is temporarily unavailable. Please try again.",
    ) -> None:
        self._sessions = sessions
        self._direct = direct_pool
        self._detail = unavailable_detail

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncSession]:
        try:
            async with self._sessions.begin() as tx:
                yield tx
        except (TimeoutError, DBAPIError, OSError, asyncpg.PostgresError) as exc:
            if not is_outage(exc):
                raise
            raise self._unavailable() from exc

    async def direct(
        self, statement: DirectStatement, params: Mapping[str, Any]
    ) -> asyncpg.Record | None:
        """One autocommit statement on the direct pool: its first row, or None."""
        if self._direct is None:
            raise RuntimeError("this unit of work has no direct pool")
        try:
            return await self._direct.fetchrow(statement, params)
        except DirectSqlError as exc:
            raise self._unavailable() from exc

    @asynccontextmanager
    async def direct_transaction(self) -> AsyncIterator[DirectTransaction]:
        """One transaction on the direct pool; see the module docstring."""
        if self._direct is None:
            raise RuntimeError("this unit of work has no direct pool")
        try:
            async with self._direct.transaction() as tx:
                yield tx
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            if not is_outage(exc):
                raise
            raise self._unavailable() from exc

    def _unavailable(self) -> DependencyUnavailable:
        return DependencyUnavailable(self._detail, retry_after=1)
