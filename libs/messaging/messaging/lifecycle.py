"""Starts and stops a service's messaging inside its FastAPI lifespan.

``open_messaging``, in order: declares the topology (a structural mismatch stops startup naming
the queue and argument), starts the consumers (FastStream broker + failure middleware), the
outbox relay, the DLQ ingester and the retention job (on ``common.periodic``), and registers
the ``rabbitmq`` readiness check (connection + a consumer on each queue). On exit: consumers
stop first and in-flight handlers finish within ``GRACEFUL_TIMEOUT_SECONDS`` (their outbox
rows still get published), then the relay flushes its batch and every connection closes. In a
service's ``bootstrap.running`` (called from ``main.py``'s start hook)::

    async with open_messaging(
        app, settings, database, tables.messaging, consumers.subscriptions, deps=deps
    ):
        yield

and mount ``dead_letters_router()`` (admin-only ``/v1/admin/dead-letters``) on the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from aio_pika.abc import AbstractRobustConnection
from common.database import Database
from common.health import register_readiness_check
from common.periodic import PeriodicJob, run_periodic_jobs
from fastapi import FastAPI

from messaging.analytics import AnalyticsPublisher
from messaging.broker_errors import BROKER_ERRORS
from messaging.broker_wait import connect_waiting
from messaging.confirmed_publisher import ConfirmedPublisher
from messaging.dead_letters.ingester import DeadLetterIngester
from messaging.dead_letters.replay import Replayer, ReplayGuard
from messaging.dead_letters.repository import DeadLetterRepository
from messaging.health import ConsumerCheck
from messaging.inbox import Inbox
from messaging.metrics import MessagingMetrics
from messaging.relay import OutboxRelay, RelayConfig
from messaging.runtime import ConsumerRuntime
from messaging.settings import MessagingSettings
from messaging.subscriber import Subscriptions
from messaging.tables import MessagingTables
from messaging.topology import declare_topology, parse_tiers

logger = logging.getLogger(__name__)

D = TypeVar("D")
RETENTION_INTERVAL_SECONDS = 3600.0


@dataclass
class DeadLetters:
    repository: DeadLetterRepository
    replayer: Replayer
    ingester: DeadLetterIngester
    max_batch: int


@dataclass
class Messaging:
    settings: MessagingSettings
    tables: MessagingTables
    connection: AbstractRobustConnection
    relay: OutboxRelay
    consumers: ConsumerRuntime[Any]
    dead_letters: DeadLetters
    inbox: Inbox
    metrics: MessagingMetrics
    analytics: AnalyticsPublisher | None = None


def relay_config(settings: MessagingSettings) -> RelayConfig:
    return RelayConfig(
        amqp_url=settings.rabbitmq_url,
        app_id=settings.service_name,
        batch_size=settings.outbox_batch_size,
        lease_seconds=settings.outbox_lease_seconds,
        poll_seconds=settings.outbox_poll_seconds,
        gather_seconds=settings.outbox_gather_seconds,
        publish_timeout_seconds=settings.publish_timeout_seconds,
        retention_hours=settings.outbox_retention_hours,
    )


@contextlib.asynccontextmanager
async def open_messaging(
    app: FastAPI,
    settings: MessagingSettings,
    database: Database,
    tables: MessagingTables,
    subscriptions: Subscriptions[D] | None = None,
    *,
    deps: D | None = None,
    replay_guard: ReplayGuard | None = None,
    analytics: AnalyticsPublisher | None = None,
    version: str = "0",
) -> AsyncIterator[Messaging]:
    """``deps``: what the consumers' handlers get as ``delivery.deps``. ``analytics``: the
    best-effort publisher of the analytics events this service emits (built by the service's
    bootstrap, started and stopped here; ``None``: the service emits none)."""
    metrics = MessagingMetrics(getattr(app.state, "metrics_registry", None))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.broker_connect_wait_seconds
    while True:
        stack = contextlib.AsyncExitStack()
        try:
            messaging = await _start(
                stack,
                app,
                settings,
                database,
                tables,
                ConsumerRuntime(
                    settings,
                    subscriptions.items if subscriptions else [],
                    deps=deps,
                    version=version,
                    metrics=metrics,
                ),
                metrics,
                replay_guard=replay_guard,
                analytics=analytics,
            )
        except BROKER_ERRORS as exc:
            # RabbitMQ went away after the first connection and before the service was up (a
            # broker restart during a deploy): what was opened is closed, and the startup runs
            # again within the same wait as the first connection's (broker_wait).
            with contextlib.suppress(*BROKER_ERRORS):
                await stack.aclose()
            left = deadline - loop.time()
            if left <= 0:
                raise
            logger.warning(
                "RabbitMQ went away during startup; starting messaging again",
                extra={"error": type(exc).__name__, "seconds_left": round(left, 1)},
            )
            await asyncio.sleep(min(1.0, left))
            continue
        break
    async with stack:
        yield messaging


async def _start(
    stack: contextlib.AsyncExitStack,
    app: FastAPI,
    settings: MessagingSettings,
    database: Database,
    tables: MessagingTables,
    consumers: ConsumerRuntime[Any],
    metrics: MessagingMetrics,
    *,
    replay_guard: ReplayGuard | None,
    analytics: AnalyticsPublisher | None,
) -> Messaging:
    """Everything messaging runs, opened on ``stack`` (which closes it)."""
    queues = consumers.work_queues()
    connection = await connect_waiting(settings, f"{settings.service_name}-control")
    stack.push_async_callback(_close, connection)
    await declare_topology(connection, tiers=parse_tiers(settings.retry_tiers), queues=queues)

    replay_publisher = ConfirmedPublisher(
        settings.rabbitmq_url,
        name=f"{settings.service_name}-replay",
        timeout_s=settings.publish_timeout_seconds,
    )
    stack.push_async_callback(replay_publisher.close)
    repository = DeadLetterRepository(database.engine, tables.failed_messages)
    ingester = DeadLetterIngester(
        connection,
        database.engine,
        tables.failed_messages,
        [q.name for q in queues],
        prefetch=settings.dlq_prefetch,
        metrics=metrics,
    )
    relay = OutboxRelay(database.engine, tables.outbox, relay_config(settings), metrics)
    messaging = Messaging(
        settings=settings,
        tables=tables,
        connection=connection,
        relay=relay,
        consumers=consumers,
        dead_letters=DeadLetters(
            repository=repository,
            replayer=Replayer(
                repository,
                replay_publisher,
                rate_per_second=settings.replay_rate_per_second,
                metrics=metrics,
                guard=replay_guard,
            ),
            ingester=ingester,
            max_batch=settings.replay_max_batch,
        ),
        inbox=Inbox(tables.inbox),
        metrics=metrics,
    )
    app.state.messaging = messaging

    if analytics is not None:
        messaging.analytics = analytics
        await analytics.start(metrics)
        stack.push_async_callback(analytics.stop)
    await relay.start()
    stack.push_async_callback(relay.stop)
    await ingester.start()
    stack.push_async_callback(ingester.stop)
    stack.push_async_callback(consumers.stop)  # first to stop: handlers finish
    await consumers.start()
    await stack.enter_async_context(run_periodic_jobs(app, [retention_job(messaging, database)]))

    check = ConsumerCheck(connection, [n for q in queues for n in (q.name, q.retry)])
    stack.push_async_callback(check.close)
    register_readiness_check(app, "rabbitmq", check)
    return messaging


def retention_job(messaging: Messaging, database: Database) -> PeriodicJob:
    """Hourly, in every replica (idempotent deletes): inbox rows past INBOX_RETENTION_DAYS,
    resolved and archived dead letters past DEAD_LETTER_RETENTION_DAYS."""
    settings = messaging.settings

    async def purge() -> int:
        async with database.engine.begin() as conn:
            inbox = await messaging.inbox.purge(
                conn, older_than=timedelta(days=settings.inbox_retention_days)
            )
        settled = await messaging.dead_letters.repository.purge_settled(
            older_than=timedelta(days=settings.dead_letter_retention_days)
        )
        return inbox + settled

    return PeriodicJob("messaging-retention", RETENTION_INTERVAL_SECONDS, purge)


async def _close(connection: AbstractRobustConnection) -> None:
    with contextlib.suppress(*BROKER_ERRORS):
        await connection.close()
