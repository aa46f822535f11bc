"""Best-effort analytics publishing: never awaited by a request, never failing it.

``emit`` is synchronous and O(1): it builds the envelope (with the current trace context) and
puts it in a bounded buffer. A background task publishes the buffer to ``nerava.events`` on its
own connection. When the buffer is full, or RabbitMQ is away for longer than the buffer lasts,
events are dropped and counted (``messaging_analytics_dropped_total{reason}``), by design:
analytics are lossy, state changes go through the outbox instead.

A service builds its publisher in its bootstrap (its handlers hold it as the thing they
``emit`` to) and hands it to ``messaging.lifecycle.open_messaging``, which starts it with the
service's messaging metrics and stops it, flushing briefly, on shutdown. The events themselves
are :class:`messaging.contracts.AnalyticsEvent` subclasses in the publisher's ``contracts.py``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import uuid

import aiormq.abc
from aio_pika.abc import AbstractChannel, AbstractConnection
from common.request_context import current_request_id
from common.telemetry import inject_trace_headers
from pamqp.commands import Basic

from messaging import headers as h
from messaging.broker_errors import BROKER_ERRORS
from messaging.connecting import connect_plain
from messaging.contracts import Contracts, Event
from messaging.envelope import Envelope
from messaging.metrics import MessagingMetrics
from messaging.topology import EVENTS_EXCHANGE

logger = logging.getLogger(__name__)

BATCH = 64  # events written per turn of the publishing task before it yields to the loop


class AnalyticsPublisher:
    def __init__(
        self,
        amqp_url: str,
        contracts: Contracts,
        *,
        buffer_size: int,
        metrics: MessagingMetrics | None = None,
        publish_timeout_s: float = 2.0,
        reconnect_max_s: float = 5.0,
    ) -> None:
        self.amqp_url = amqp_url
        self.contracts = contracts
        self.metrics = metrics
        self.publish_timeout_s = publish_timeout_s
        self.reconnect_max_s = reconnect_max_s
        self._buffer: collections.deque[tuple[Envelope, dict[str, object]]] = collections.deque()
        self._size = buffer_size
        self._ready = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self.published = 0
        self.dropped = 0

    def emit(self, event: Event, *, correlation_id: str | None = None) -> bool:
        """Queues ``event``; returns False (and counts) when it had to be dropped."""
        self.contracts.check(event)
        if len(self._buffer) >= self._size:
            self._drop("buffer_full")
            return False
        envelope = Envelope(
            message_id=uuid.uuid4(),
            type=event.message_type,
            producer=self.contracts.producer,
            correlation_id=correlation_id or current_request_id(),
            data=event.model_dump(mode="json"),
        )
        headers: dict[str, object] = inject_trace_headers(
            {h.ORIGIN_SERVICE: self.contracts.producer, h.SCHEMA_VERSION: event.version()}
        )
        self._buffer.append((envelope, headers))
        self._ready.set()
        return True

    def _drop(self, reason: str, count: int = 1) -> None:
        self.dropped += count
        if self.metrics is not None:
            self.metrics.analytics_dropped.labels(reason).inc(count)

    async def start(self, metrics: MessagingMetrics | None = None) -> None:
        """Starts publishing (what was emitted before is in the buffer); ``metrics``: the
        service's messaging metrics, when the publisher was built before them."""
        if metrics is not None:
            self.metrics = metrics
        self._stopping = False  # started again after a stop (a startup that began again)
        self._task = asyncio.create_task(self._run(), name="analytics-publisher")

    async def stop(self, *, flush_timeout_s: float = 2.0) -> None:
        self._stopping = True
        self._ready.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(flush_timeout_s):
                    await asyncio.shield(self._task)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._buffer:
            self._drop("shutdown", len(self._buffer))
            self._buffer.clear()
        await self._disconnect()

    async def _run(self) -> None:
        backoff = 0.1
        while not (self._stopping and not self._buffer):
            if not self._buffer:
                self._ready.clear()
                await self._ready.wait()
                continue
            try:
                channel = await self._connect()
                async with asyncio.timeout(self.publish_timeout_s):
                    await self._publish_batch(channel)
                backoff = 0.1
            except BROKER_ERRORS as exc:
                logger.debug("analytics publish failed", extra={"error": type(exc).__name__})
                await self._disconnect()
                if self._stopping:
                    return
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.reconnect_max_s)

    async def _publish_batch(self, channel: aiormq.abc.AbstractChannel) -> None:
        """Up to ``BATCH`` buffered events, oldest first, each popped once written. Straight on
        the AMQP channel (no confirms, not mandatory): aio-pika's message objects would cost
        about half as much CPU again per event, on the request's event loop."""
        for _ in range(min(BATCH, len(self._buffer))):
            envelope, headers = self._buffer[0]
            await channel.basic_publish(
                envelope.to_bytes(),
                exchange=EVENTS_EXCHANGE,
                routing_key=envelope.type,
                properties=Basic.Properties(
                    headers=headers,  # type: ignore[arg-type]
                    message_id=str(envelope.message_id),
                    correlation_id=envelope.correlation_id,
                    message_type=envelope.type,
                    content_type="application/json",
                    app_id=self.contracts.producer,
                ),
            )
            self._buffer.popleft()
            self.published += 1

    async def _connect(self) -> aiormq.abc.AbstractChannel:
        if self._channel is not None and not self._channel.is_closed:
            return await self._channel.get_underlay_channel()
        self._connection = await connect_plain(self.amqp_url, timeout_s=self.publish_timeout_s)
        self._channel = await self._connection.channel(publisher_confirms=False)
        return await self._channel.get_underlay_channel()

    async def _disconnect(self) -> None:
        connection = self._connection
        self._connection = self._channel = None
        if connection is not None and not connection.is_closed:
            with contextlib.suppress(*BROKER_ERRORS):
                await connection.close()
