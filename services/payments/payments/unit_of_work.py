"""``async with uow() as tx``: one transaction that commits on exit and rolls back on error.

A database outage (connection refused or lost, statement timeout) surfaces as
``DependencyUnavailableError`` (503, retry), never as a misleading user error; business
errors pass through unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, InterfaceError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from payments.errors import DependencyUnavailableError

_OUTAGE_SQLSTATES = {"57014", "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001"}


def is_outage(exc: BaseException) -> bool:
    if isinstance(exc, OSError | TimeoutError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return sqlstate in _OUTAGE_SQLSTATES or isinstance(exc.orig, OSError | TimeoutError)
    return False


class UnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncSession]:
        try:
            async with self.sessions.begin() as tx:
                yield tx
        except (OSError, TimeoutError, DBAPIError) as exc:
            if is_outage(exc):
                raise DependencyUnavailableError("The database is unavailable.") from exc
            raise
