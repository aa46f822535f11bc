"""Idempotent consuming: record ``(consumer, message_id)`` in the handler's own transaction.

In a handler::

    async with sessions.begin() as session:
        if not await inbox.claim(session, delivery.consumer, delivery.message_id):
            return                      # a duplicate (retry, redelivery, replay): already done
        ...                             # the effects, committed with the inbox row

The primary key makes two concurrent deliveries of one message serialize: the second insert
waits for the first transaction and then finds the row. Retention (``INBOX_RETENTION_DAYS``,
default 30) must exceed the retry + replay horizon; :meth:`Inbox.purge` removes older rows.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import Table, delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


class Inbox:
    def __init__(self, table: Table) -> None:
        self.table = table

    async def claim(self, session: AsyncSession, consumer: str, message_id: uuid.UUID) -> bool:
        """True the first time this consumer sees ``message_id``; False for a duplicate."""
        stmt = (
            insert(self.table)
            .values(consumer=consumer, message_id=message_id)
            .on_conflict_do_nothing()
            .returning(self.table.c.message_id)
        )
        return (await session.execute(stmt)).first() is not None

    async def purge(self, conn: AsyncConnection, *, older_than: timedelta) -> int:
        result = await conn.execute(
            delete(self.table).where(self.table.c.processed_at < func.now() - older_than)
        )
        return int(result.rowcount or 0)
