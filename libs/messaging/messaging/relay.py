"""The outbox relay: runs in every replica and publishes committed outbox rows to RabbitMQ.

Each round claims a batch with ``FOR UPDATE SKIP LOCKED`` and a lease (``claimed_until`` +
``claim_token``), publishes the batch pipelined on the relay's own connection (publisher
confirms, ``persist=True``, explicit ``message_id``, ``mandatory`` + returns raising for
commands) and marks rows sent only after their confirm, guarded by the claim token. A replica
that dies mid-batch leaves rows whose lease expires; another replica publishes them again (the
consumers' inbox absorbs the duplicate). ``LISTEN/NOTIFY`` wakes the relay at once after a
commit; it also polls, so a lost notification only delays. RabbitMQ away: nothing is claimed,
the relay reconnects with backoff and everything is delivered when it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aio_pika
import asyncpg
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, DeliveryMode
from aio_pika.exceptions import DeliveryError
from common.telemetry import extract_trace_context, inject_trace_headers
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import (
    Table,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from messaging.broker_errors import BROKER_ERRORS
from messaging.connecting import connect_plain
from messaging.metrics import MessagingMetrics
from messaging.outbox import notify_channel
from messaging.relay_statements import RelayStatements

logger = logging.getLogger(__name__)
_tracer = trace.get_tracer("messaging")


@dataclass(frozen=True)
class RelayConfig:
    amqp_url: str
    app_id: str
    batch_size: int = 200
    lease_seconds: float = 30.0
    poll_seconds: float = 1.0
    # after a NOTIFY, wait this long before claiming: the commits of concurrent requests go out
    # in one claim instead of one claim (and one empty re-claim) each
    gather_seconds: float = 0.0
    publish_timeout_seconds: float = 10.0
    retention_hours: float = 24.0
    reconnect_max_seconds: float = 5.0


def _publish_span(row: Any) -> tuple[trace.Span, dict[str, Any]]:
    """The row's publish, a span in the trace of the request that wrote it; the message carries
    this span's context, so its consumers continue the same trace under it."""
    stored = dict(row.headers)
    span = _tracer.start_span(
        f"{row.message_type} publish",
        context=extract_trace_context(stored),
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "rabbitmq",
            "messaging.destination.name": row.exchange or row.routing_key,
            "messaging.message.id": str(row.message_id),
            "messaging.message.type": row.message_type,
        },
    )
    with trace.use_span(span, end_on_exit=False):
        headers = inject_trace_headers(stored)
    return span, headers


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        table: Table,
        config: RelayConfig,
        metrics: MessagingMetrics | None = None,
    ) -> None:
        self.engine = engine
        self.table = table
        self.config = config
        self.metrics = metrics or MessagingMetrics()
        # claim and mark-sent are single statements: no BEGIN/COMMIT round trips around them
        self._single = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._lag_at = 0.0
        self.published_total = 0
        self.connected = False
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._listener: asyncpg.Connection | None = None
        self._purged_at = 0.0
        self._sql = RelayStatements.for_table(table, lease_seconds=config.lease_seconds)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.table.schema}")

    async def stop(self) -> None:
        """Finishes the batch in flight, then closes both connections."""
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            await self._task
        await self._close_listener()
        await self._close_broker()

    async def connect(self) -> None:
        """Opens the publishing connection now, to drive :meth:`relay_once` by hand (``start``
        connects by itself); :meth:`stop` closes it."""
        await self._ensure_broker()

    # ------------------------------------------------------------------ loop
    async def _run(self) -> None:
        backoff = 0.1
        while not self._stopping.is_set():
            await self._ensure_listener()
            try:
                await self._ensure_broker()
                await self.pump()
                await self._housekeeping()
            except SQLAlchemyError as exc:
                logger.warning(
                    "outbox relay cannot reach Postgres; retrying",
                    extra={"error": f"{type(exc).__name__}: {exc}"[:300], "retry_in_s": backoff},
                )
            except BROKER_ERRORS as exc:
                logger.warning(
                    "outbox relay cannot reach RabbitMQ; retrying",
                    extra={"error": f"{type(exc).__name__}: {exc}"[:300], "retry_in_s": backoff},
                )
                await self._close_broker()
            else:
                backoff = 0.1
                await self._sleep(self.config.poll_seconds)  # returns at once after a NOTIFY
                continue
            await self._sleep(backoff)
            backoff = min(backoff * 2, self.config.reconnect_max_seconds)

    async def _sleep(self, seconds: float) -> None:
        woken = False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
                woken = True
        if woken and self.config.gather_seconds > 0 and not self._stopping.is_set():
            await asyncio.sleep(self.config.gather_seconds)  # NOTIFYs meanwhile join this round
        self._wake.clear()

    # ------------------------------------------------------------------ one round
    async def relay_once(self) -> int:
        """Claims, publishes and marks one batch; returns how many rows were confirmed."""
        token, rows = await self._claim_batch()
        return await self._deliver(token, rows) if rows else 0

    async def pump(self) -> int:
        """Publishes everything due; the next batch is claimed while the current one is in
        flight (waiting for confirms), so Postgres and RabbitMQ round trips overlap."""
        token, rows = await self._claim_batch()
        total = 0
        while rows:
            upcoming = (
                asyncio.create_task(self._claim_batch())
                if len(rows) >= self.config.batch_size
                else None
            )
            try:
                total += await self._deliver(token, rows)
            except BaseException:
                if upcoming is not None:
                    await self._abandon(upcoming)
                raise
            if upcoming is None:
                break
            token, rows = await upcoming
        return total

    async def _claim_batch(self) -> tuple[uuid.UUID, Sequence[Any]]:
        token = uuid.uuid4()
        async with self._single.connect() as conn:
            rows = (
                await conn.execute(
                    self._sql.claim, {"token": token, "limit": self.config.batch_size}
                )
            ).all()
        self.metrics.outbox_claims.labels(result="rows" if rows else "empty").inc()
        self.metrics.outbox_claimed_rows.inc(len(rows))
        return token, rows

    async def _abandon(self, claim: asyncio.Task[tuple[uuid.UUID, Sequence[Any]]]) -> None:
        """Gives back a batch claimed ahead of a failure (not stuck until its lease ends)."""
        try:
            token, rows = await claim
        except SQLAlchemyError:
            return
        if rows:
            async with self.engine.begin() as conn:
                await conn.execute(self._sql.unclaim, {"token": token})

    async def _deliver(self, token: uuid.UUID, rows: Sequence[Any]) -> int:
        results = await self._publish_batch(rows)
        sent = [row.id for row, error in zip(rows, results, strict=True) if error is None]
        failed = [
            (row.id, error) for row, error in zip(rows, results, strict=True) if error is not None
        ]
        if sent:
            async with self._single.connect() as conn:
                await conn.execute(self._sql.mark_sent, {"ids": sent, "token": token})
        if failed:
            await self._release_failed(token, failed)
        self.published_total += len(sent)
        self.metrics.outbox_published.inc(len(sent))
        broker_failure = next((e for _, e in failed if _is_connection_error(e)), None)
        if broker_failure is not None:
            raise broker_failure
        for row_id, error in failed:
            logger.error(
                "outbox message not routable; kept for retry",
                extra={"outbox_id": row_id, "error": f"{type(error).__name__}: {error}"[:300]},
            )
        return len(sent)

    async def _release_failed(
        self, token: uuid.UUID, failed: list[tuple[int, BaseException]]
    ) -> None:
        """Unclaims rows RabbitMQ did not confirm: at once after a connection failure, after a
        randomized pause for a refused (returned / nacked) message."""
        async with self.engine.begin() as conn:
            for row_id, error in failed:
                retryable = _is_connection_error(error)
                await conn.execute(
                    self._sql.release,
                    {
                        "row_id": row_id,
                        "token": token,
                        "error": f"{type(error).__name__}: {error}"[:1000],
                        "delay": timedelta(seconds=0 if retryable else 5 + random.random() * 5),
                    },
                )

    async def _publish_batch(self, rows: Sequence[Any]) -> list[BaseException | None]:
        channel = self._channel
        assert channel is not None
        publishes = []
        spans = []
        for row in rows:
            exchange = await self._exchange(row.exchange)
            span, headers = _publish_span(row)
            spans.append(span)
            message = aio_pika.Message(
                row.body,
                headers=headers,
                message_id=str(row.message_id),
                correlation_id=row.correlation_id,
                type=row.message_type,
                content_type="application/json",
                delivery_mode=DeliveryMode.PERSISTENT,
                app_id=self.config.app_id,
                timestamp=row.created_at,
            )
            publishes.append(
                exchange.publish(message, routing_key=row.routing_key, mandatory=row.mandatory)
            )
        try:
            async with asyncio.timeout(self.config.publish_timeout_seconds):
                outcomes = await asyncio.gather(*publishes, return_exceptions=True)
        except TimeoutError as exc:
            outcomes = [exc] * len(rows)
        results: list[BaseException | None] = []
        for span, outcome in zip(spans, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                span.set_status(Status(StatusCode.ERROR, type(outcome).__name__))
            span.end()
            if isinstance(outcome, asyncio.CancelledError):
                raise outcome
            results.append(outcome if isinstance(outcome, BaseException) else None)
        return results

    async def _exchange(self, name: str) -> AbstractExchange:
        assert self._channel is not None
        if name == "":
            return self._channel.default_exchange
        exchange = self._exchanges.get(name)
        if exchange is None:
            exchange = await self._channel.get_exchange(name, ensure=False)
            self._exchanges[name] = exchange
        return exchange

    async def _housekeeping(self) -> None:
        """Once a second: the outbox lag gauge; once a minute: purge sent rows past retention."""
        now = asyncio.get_running_loop().time()
        if now - self._lag_at >= 1:
            self._lag_at = now
            async with self.engine.connect() as conn:
                lag = await conn.scalar(self._sql.lag)
            self.metrics.outbox_lag.set(float(lag or 0))
        if now - self._purged_at < 60:
            return
        self._purged_at = now
        async with self.engine.begin() as conn:
            await conn.execute(
                self._sql.purge, {"age": timedelta(hours=self.config.retention_hours)}
            )

    # ------------------------------------------------------------------ connections
    async def _ensure_broker(self) -> None:
        if self._channel is not None and not self._channel.is_closed:
            return
        await self._close_broker()
        self._connection = await connect_plain(
            self.config.amqp_url, timeout_s=self.config.publish_timeout_seconds
        )
        self._channel = await self._connection.channel(
            publisher_confirms=True, on_return_raises=True
        )
        self._exchanges = {}
        self.connected = True
        logger.info("outbox relay connected to RabbitMQ", extra={"schema": self.table.schema})

    async def _close_broker(self) -> None:
        self.connected = False
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and not connection.is_closed:
            with contextlib.suppress(*BROKER_ERRORS):
                await connection.close()

    async def _ensure_listener(self) -> None:
        """LISTEN on a dedicated connection; without it the relay still polls."""
        if self._listener is not None and not self._listener.is_closed():
            return
        dsn = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            self._listener = await asyncpg.connect(
                dsn, timeout=5, server_settings={"application_name": f"nerava-{self.table.schema}"}
            )
            await self._listener.add_listener(notify_channel(self.table), self._on_notify)
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            logger.warning(
                "outbox relay cannot LISTEN; polling", extra={"error": f"{type(exc).__name__}"}
            )
            await self._close_listener()

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                await listener.close(timeout=2)


def _is_connection_error(error: BaseException) -> bool:
    """A nack or a return concerns one message; anything else broker-side is the connection."""
    return isinstance(error, BROKER_ERRORS) and not isinstance(error, DeliveryError)
