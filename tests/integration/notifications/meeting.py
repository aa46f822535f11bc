"""Units of work that make concurrent use cases meet at one point (a barrier), or put another
transaction between two of a use case's statements, for the notifications concurrency tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import asyncpg
from common.direct_sql import DirectStatement
from notifications.deps import NotificationsUnitOfWork
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


class MeetingUnitOfWork:
    """A unit of work whose first transaction in each task waits until every task has one open,
    and whose ``meet_at`` statement on the direct pool waits until every task is about to run it."""

    def __init__(
        self,
        inner: NotificationsUnitOfWork,
        barrier: asyncio.Barrier,
        *,
        meet_at: DirectStatement | None = None,
    ) -> None:
        self.inner = inner
        self.barrier = barrier
        self.meet_at = meet_at
        self.met: set[asyncio.Task[object] | None] = set()

    def __call__(self) -> AbstractAsyncContextManager[AsyncSession]:
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.inner() as tx:
            task = asyncio.current_task()
            if self.meet_at is None and task not in self.met:
                self.met.add(task)
                await tx.execute(text("SELECT 1"))
                await self.barrier.wait()
            yield tx

    async def direct(
        self, statement: DirectStatement, params: Mapping[str, Any]
    ) -> asyncpg.Record | None:
        if statement is self.meet_at:
            await self.barrier.wait()
        return await self.inner.direct(statement, params)


class InterposedUnitOfWork:
    """A unit of work that runs ``before`` (once) right before its ``at`` statement on the
    direct pool: another transaction's move lands between a use case's read and its write."""

    def __init__(
        self,
        inner: NotificationsUnitOfWork,
        at: DirectStatement,
        before: Callable[[], Awaitable[object]],
    ) -> None:
        self.inner = inner
        self.at = at
        self.before: Callable[[], Awaitable[object]] | None = before

    def __call__(self) -> AbstractAsyncContextManager[AsyncSession]:
        return self.inner()

    async def direct(
        self, statement: DirectStatement, params: Mapping[str, Any]
    ) -> asyncpg.Record | None:
        if statement is self.at and self.before is not None:
            before, self.before = self.before, None
            await before()
        return await self.inner.direct(statement, params)
