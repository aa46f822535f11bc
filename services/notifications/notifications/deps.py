"""What the use cases may touch, typed by Protocols (``bootstrap`` builds the real ones; tests may
pass their own)."""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class UnitOfWork(Protocol):
    """``async with deps.uow() as tx:`` commits on exit, rolls back on error."""

    def __call__(self) -> AbstractAsyncContextManager[AsyncSession]: ...


class Inbox(Protocol):
    async def claim(self, session: AsyncSession, consumer: str, message_id: uuid.UUID) -> bool:
        """True the first time ``consumer`` sees ``message_id``, in the caller's transaction."""
        ...


@dataclass(frozen=True)
class NotificationsDeps:
    uow: UnitOfWork
    inbox: Inbox
