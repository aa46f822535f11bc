"""Starts and stops a service's messaging inside its FastAPI lifespan.

``open_messaging`` declares the topology (stopping startup on a structural mismatch), starts
the outbox relay on its own connection and registers the ``rabbitmq`` readiness check. In
``main.py``::

    async with open_database(app, settings) as database, \\
            open_messaging(app, settings, database, tables.messaging):
        yield
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractRobustConnection
from fastapi import FastAPI

from common.health import register_readiness_check
from common.infrastructure import Database
from common.messaging.broker_errors import BROKER_ERRORS
from common.messaging.relay import OutboxRelay, RelayConfig
from common.messaging.settings import MessagingSettings
from common.messaging.tables import MessagingTables
from common.messaging.topology import WorkQueue, declare_topology, parse_tiers

logger = logging.getLogger(__name__)


@dataclass
class Messaging:
    settings: MessagingSettings
    database: Database
    tables: MessagingTables
    connection: AbstractRobustConnection
    relay: OutboxRelay
    queues: Sequence[WorkQueue]


@contextlib.asynccontextmanager
async def open_messaging(
    app: FastAPI,
    settings: MessagingSettings,
    database: Database,
    tables: MessagingTables,
    *,
    queues: Sequence[WorkQueue] = (),
) -> AsyncIterator[Messaging]:
    connection = await aio_pika.connect_robust(
        settings.rabbitmq_url,
        timeout=settings.publish_timeout_seconds,
        client_properties={"connection_name": f"{settings.service_name}-control"},
    )
    relay: OutboxRelay | None = None
    try:
        await declare_topology(connection, tiers=parse_tiers(settings.retry_tiers), queues=queues)
        relay = OutboxRelay(
            database.engine,
            tables.outbox,
            RelayConfig(
                amqp_url=settings.rabbitmq_url,
                app_id=settings.service_name,
                batch_size=settings.outbox_batch_size,
                lease_seconds=settings.outbox_lease_seconds,
                poll_seconds=settings.outbox_poll_seconds,
                publish_timeout_seconds=settings.publish_timeout_seconds,
                retention_hours=settings.outbox_retention_hours,
            ),
        )
        await relay.start()
        messaging = Messaging(settings, database, tables, connection, relay, queues)
        app.state.messaging = messaging
        register_readiness_check(app, "rabbitmq", _connection_check(connection))
        yield messaging
    finally:
        if relay is not None:
            await relay.stop()
        with contextlib.suppress(*BROKER_ERRORS):
            await connection.close()


def _connection_check(connection: AbstractRobustConnection) -> Any:
    async def check() -> dict[str, Any] | None:
        if connection.is_closed:
            raise ConnectionError("RabbitMQ connection is closed")
        return None

    return check
