"""``AnalyticsSink``: consumes ``notifications.analytics``, the lossy queue of analytics events.

The queue is bound to ``nerava.events`` with ``analytics.#`` and declared lossy
(``x-max-length`` + ``x-overflow: drop-head``, no DLX): under overload RabbitMQ drops the
oldest events instead of pushing back on any publisher. Each message is handed to the use case
and acknowledged whatever it decided (kept or dropped, counted by outcome in
``notifications_analytics_events_total``); when the database cannot answer the event is dropped
and counted too (analytics never retry, never block).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from common.errors import DependencyUnavailable
from messaging.broker_errors import BROKER_ERRORS
from messaging.envelope import Envelope
from messaging.topology import EVENTS_EXCHANGE, lossy_queue_arguments
from prometheus_client import CollectorRegistry, Counter
from pydantic import ValidationError

logger = logging.getLogger(__name__)

ANALYTICS_QUEUE = "notifications.analytics"
ANALYTICS_BINDING = "analytics.#"

Handle = Callable[[Envelope], Awaitable[str]]


class AnalyticsSink:
    def __init__(
        self,
        connection: AbstractRobustConnection,
        handle: Handle,
        *,
        max_length: int,
        prefetch: int,
        registry: CollectorRegistry | None,
    ) -> None:
        self._connection = connection
        self._handle = handle
        self._max_length = max_length
        self._prefetch = prefetch
        self._channel: AbstractRobustChannel | None = None
        self._queue: AbstractQueue | None = None
        self._tag: str | None = None
        self._in_flight: set[asyncio.Task[object]] = set()
        self.outcomes = Counter(
            "notifications_analytics_events_total",
            "Analytics events by outcome (stored, duplicate, no_consent, pii_without_user, "
            "invalid, unavailable)",
            ["outcome"],
            registry=registry or CollectorRegistry(),
        )

    async def start(self) -> None:
        channel = await self._connection.channel()
        assert isinstance(channel, AbstractRobustChannel)
        await channel.set_qos(prefetch_count=self._prefetch)
        queue = await channel.declare_queue(
            ANALYTICS_QUEUE, durable=True, arguments=lossy_queue_arguments(self._max_length)
        )
        await queue.bind(EVENTS_EXCHANGE, routing_key=ANALYTICS_BINDING)
        self._channel, self._queue = channel, queue
        self._tag = await queue.consume(self._on_message)

    async def stop(self, *, drain_timeout_s: float = 5.0) -> None:
        """Stops consuming, lets the events in hand finish (bounded), closes the channel."""
        try:
            if self._queue is not None and self._tag is not None:
                await self._queue.cancel(self._tag)
        except BROKER_ERRORS as exc:
            logger.debug("analytics sink cancel", extra={"error": type(exc).__name__})
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=drain_timeout_s)
        try:
            if self._channel is not None and not self._channel.is_closed:
                await self._channel.close()
        except BROKER_ERRORS as exc:
            logger.debug("analytics sink stop", extra={"error": type(exc).__name__})

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            await self._consume(message)
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def _consume(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope = Envelope.from_bytes(message.body)
        except ValidationError:
            outcome = "invalid"
        else:
            try:
                outcome = await self._handle(envelope)
            except DependencyUnavailable:
                outcome = "unavailable"
        self.outcomes.labels(outcome).inc()
        await message.ack()
