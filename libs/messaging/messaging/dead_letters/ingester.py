"""Drains a service's own ``*.dlq`` queues into its ``failed_messages`` table.

Acks only after the row is committed. A redelivered DLQ message (ack lost after commit) does not
count twice: the upsert only applies a failure newer than the stored one. A replayed message
that fails again reopens its row (``unresolved``, ``failure_count`` + 1). When Postgres is down
the ingester holds the message and retries the write with backoff (consumption pauses within the
prefetch) instead of nack-looping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from sqlalchemy import Table, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable

from messaging.broker_errors import BROKER_ERRORS
from messaging.dead_letters.normalize import failed_row
from messaging.metrics import MessagingMetrics
from messaging.topology import dlq_name

logger = logging.getLogger(__name__)


class DeadLetterIngester:
    def __init__(
        self,
        connection: AbstractRobustConnection,
        engine: AsyncEngine,
        table: Table,
        queues: Sequence[str],
        *,
        prefetch: int,
        metrics: MessagingMetrics,
    ) -> None:
        self.connection = connection
        self.engine = engine
        self.table = table
        self.queues = list(queues)
        self.prefetch = prefetch
        self.metrics = metrics
        self._channel: AbstractChannel | None = None
        self._consumers: list[tuple[AbstractQueue, str]] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self.ingested_total = 0
        self._upsert = self._build_upsert()

    async def start(self) -> None:
        if not self.queues:
            return
        self._channel = await self.connection.channel()
        await self._channel.set_qos(prefetch_count=self.prefetch)
        for work_queue in self.queues:
            queue = await self._channel.declare_queue(dlq_name(work_queue), passive=True)
            tag = await queue.consume(self._on_message)
            self._consumers.append((queue, tag))

    async def stop(self) -> None:
        self._stopping.set()
        for queue, tag in self._consumers:
            with contextlib.suppress(*BROKER_ERRORS):
                await queue.cancel(tag)
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=10)
        if self._channel is not None and not self._channel.is_closed:
            with contextlib.suppress(*BROKER_ERRORS):
                await self._channel.close()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            await self._ingest(message)
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def _ingest(self, message: AbstractIncomingMessage) -> None:
        dlq = message.routing_key or ""
        dlq = dlq if dlq.endswith(".dlq") else dlq_name(dlq)
        row = failed_row(message, dlq)
        backoff = 0.5
        while True:
            try:
                async with self.engine.begin() as conn:
                    await conn.execute(self._upsert, row)
                break
            except SQLAlchemyError as exc:
                if self._stopping.is_set():
                    return  # unsettled: redelivered to the next ingester
                logger.warning(
                    "dead-letter ingestion waits for Postgres",
                    extra={"queue": row["queue"], "error": type(exc).__name__},
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30)
        await message.ack()
        self.ingested_total += 1
        self.metrics.dead_letters_ingested.labels(row["queue"], row["failure_kind"]).inc()
        logger.info(
            "dead letter stored",
            extra={
                "queue": row["queue"],
                "message_id": row["message_id"],
                "failure_kind": row["failure_kind"],
                "exception_type": row["exception_type"],
            },
        )

    def _build_upsert(self) -> Executable:
        t = self.table
        stmt = insert(t)
        excluded = stmt.excluded
        return stmt.on_conflict_do_update(
            index_elements=[t.c.queue, t.c.message_id],
            set_={
                "headers": excluded.headers,
                "body": excluded.body,
                "content_type": excluded.content_type,
                "message_type": func.coalesce(excluded.message_type, t.c.message_type),
                "exchange": func.coalesce(t.c.exchange, excluded.exchange),
                "routing_key": func.coalesce(t.c.routing_key, excluded.routing_key),
                "failure_kind": excluded.failure_kind,
                "exception_type": excluded.exception_type,
                "exception_message": excluded.exception_message,
                "fingerprint": excluded.fingerprint,
                "last_failed_at": excluded.last_failed_at,
                "attempts": excluded.attempts,
                "failure_count": t.c.failure_count + 1,
                "status": "unresolved",
                "updated_at": func.now(),
            },
            where=t.c.last_failed_at < excluded.last_failed_at,
        )
