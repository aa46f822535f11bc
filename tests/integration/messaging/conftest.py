"""Fixtures of the messaging suite: a private schema with the messaging tables, an AMQP
connection to the run's vhost, and helpers to read what reached a queue."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractConnection
from common.database import make_session_factory, schema_metadata
from common.telemetry import setup_tracing
from messaging.tables import MessagingTables, add_messaging_tables
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from tests.support.isolation import RunInfra


@dataclass(frozen=True)
class Store:
    schema: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tables: MessagingTables


@pytest.fixture(scope="session", autouse=True)
def tracing() -> None:
    """A real tracer provider, so trace context is injected and extracted as in a service."""
    setup_tracing("messaging-tests", None)


@pytest.fixture
async def store(infra: RunInfra) -> AsyncIterator[Store]:
    schema = f"mt_{uuid.uuid4().hex[:10]}"
    engine = create_async_engine(infra.database_url, pool_size=5, max_overflow=5)
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


@pytest.fixture
async def amqp(infra: RunInfra) -> AsyncIterator[AbstractConnection]:
    connection = await aio_pika.connect(infra.rabbitmq_url)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def channel(amqp: AbstractConnection) -> AsyncIterator[AbstractChannel]:
    ch = await amqp.channel()
    try:
        yield ch
    finally:
        if not ch.is_closed:
            await ch.close()


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"
