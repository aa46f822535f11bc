"""Fixtures of the messaging suite: a private schema with the messaging tables
(``tests/support/messaging_store.py``) and an AMQP connection to the run's vhost."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractConnection
from common.telemetry import setup_tracing

from tests.support.isolation import RunInfra
from tests.support.messaging_store import Store, messaging_store


@pytest.fixture(scope="session", autouse=True)
def tracing() -> None:
    """A real tracer provider, so trace context is injected and extracted as in a service."""
    setup_tracing("messaging-tests", None)


@pytest.fixture
async def store(infra: RunInfra) -> AsyncIterator[Store]:
    async with messaging_store(infra.database_url) as store:
        yield store


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
