"""Best-effort analytics publishing: never awaited by a request, never failing it.

``emit`` is synchronous and O(1): it builds the envelope (with the current trace context) and
puts it in a bounded buffer. A background task publishes the buffer to ``nerava.events`` on its
own connection. When the buffer is full, or RabbitMQ is away for longer than the buffer lasts,
events are dropped and counted (``messaging_analytics_dropped_total{reason}``), by design:
analytics are lossy, state changes go through the outbox instead.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import uuid

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from common.request_context import current_request_id
from common.telemetry import inject_trace_headers

from messaging import headers as h
from messaging.broker_errors import BROKER_ERRORS
from messaging.connecting import connect_plain
from messaging.contracts import Contracts, Event
from messaging.envelope import Envelope
from messaging.metrics import MessagingMetrics
from messaging.topology import EVENTS_EXCHANGE

logger = logging.getLogger(__name__)


class AnalyticsPublisher:
    def __init__(
        self,
        amqp_url: str,
        contracts: Contracts,
        *,
        buffer_size: int,
        metrics: MessagingMetrics,
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
        self._exchange: AbstractExchange | None = None
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
        self.metrics.analytics_dropped.labels(reason).inc(count)

    async def start(self) -> None:
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
                exchange = await self._connect()
                envelope, headers = self._buffer[0]
                async with asyncio.timeout(self.publish_timeout_s):
                    await exchange.publish(
                        aio_pika.Message(
                            envelope.to_bytes(),
                            headers=headers,  # type: ignore[arg-type]
                            message_id=str(envelope.message_id),
                            correlation_id=envelope.correlation_id,
                            type=envelope.type,
                            content_type="application/json",
                            app_id=self.contracts.producer,
                        ),
                        routing_key=envelope.type,
                        mandatory=False,
                    )
                self._buffer.popleft()
                self.published += 1
                backoff = 0.1
            except BROKER_ERRORS as exc:
                logger.debug("analytics publish failed", extra={"error": type(exc).__name__})
                await self._disconnect()
                if self._stopping:
                    return
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.reconnect_max_s)

    async def _connect(self) -> AbstractExchange:
        if self._exchange is not None and self._channel is not None and not self._channel.is_closed:
            return self._exchange
        self._connection = await connect_plain(self.amqp_url, timeout_s=self.publish_timeout_s)
        self._channel = await self._connection.channel(publisher_confirms=False)
        self._exchange = await self._channel.get_exchange(EVENTS_EXCHANGE, ensure=False)
        return self._exchange

    async def _disconnect(self) -> None:
        connection = self._connection
        self._connection = self._channel = self._exchange = None
        if connection is not None and not connection.is_closed:
            with contextlib.suppress(*BROKER_ERRORS):
                await connection.close()
