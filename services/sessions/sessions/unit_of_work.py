"""The transaction helper behind ``deps.uow()`` (until the shared one exists).

One transaction per use case, in READ COMMITTED (the activation's "insert or return the
existing" relies on each statement seeing the latest committed rows). Commits on exit, rolls
back on any error; connection failures, timeouts and a database that refuses connections
become ``dependency_unavailable`` (503). Business errors and constraint violations pass through.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sessions.errors import DependencyUnavailableError

logger = logging.getLogger(__name__)

_OUTAGES: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    PoolTimeoutError,
    OSError,
    TimeoutError,
)


def _is_outage(exc: BaseException) -> bool:
    if isinstance(exc, IntegrityError):
        return False
    if isinstance(exc, _OUTAGES):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class DatabaseUnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncSession]:
        try:
            async with self._sessions.begin() as tx:
                yield tx
        except Exception as exc:
            if not _is_outage(exc):
                raise
            logger.warning("database unavailable", extra={"error": type(exc).__name__})
            raise DependencyUnavailableError(
                "The sessions service cannot reach its database; try again shortly."
            ) from exc
