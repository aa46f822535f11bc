"""The messaging tables (outbox, inbox, dead letters) in a private schema of the run's database.

``async with messaging_store(database_url) as store:`` creates the schema and drops it after.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from common.database import make_session_factory, schema_metadata
from messaging.tables import MessagingTables, add_messaging_tables
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


@dataclass(frozen=True)
class Store:
    schema: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tables: MessagingTables


@contextlib.asynccontextmanager
async def messaging_store(database_url: str) -> AsyncIterator[Store]:
    schema = f"mt_{uuid.uuid4().hex[:10]}"
    engine = create_async_engine(database_url, pool_size=5, max_overflow=5)
    metadata = schema_metadata(schema)
    tables = add_messaging_tables(metadata)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await conn.run_sync(metadata.create_all)
    try:
        yield Store(schema, engine, make_session_factory(engine), tables)
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()
