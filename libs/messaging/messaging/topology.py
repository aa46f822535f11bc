"""The RabbitMQ topology every service declares at startup (idempotent).

Exchanges (durable): ``nerava.events`` (topic), ``nerava.commands`` (direct), ``nerava.dlx``
(direct, routing key = source queue) and the shared retry tiers ``nerava.retry.<tier>.<bucket>``
(fanout) with one quorum queue each: a fixed ``x-message-ttl`` that dead-letters through the
default exchange by the message's routing key, so only the failing consumer sees the retry. Per
work queue: a quorum queue with DLX arguments, ``at-least-once`` dead-lettering,
``reject-publish`` (no max-length) and a delivery limit, plus ``<queue>.dlq`` and
``<queue>.retry``: the tiers deliver a retry back into ``<queue>.retry`` (the routing key of the
republished copy), never into the work queue, so retries do not queue ahead of fresh messages;
the same handler consumes both, the retry queue with its own (smaller) prefetch. The retry queue
has the work queue's arguments: its dead letters reach the same ``<queue>.dlq``.

Structural arguments are immutable in RabbitMQ: if a queue exists with different ones,
:func:`declare_topology` raises :class:`TopologyMismatchError` naming the queue and argument.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, ExchangeType
from aiormq.exceptions import ChannelPreconditionFailed

from messaging.durations import parse_duration

EVENTS_EXCHANGE = "nerava.events"
COMMANDS_EXCHANGE = "nerava.commands"
DLX_EXCHANGE = "nerava.dlx"
RETRY_PREFIX = "nerava.retry"
JITTER_BUCKETS: tuple[tuple[str, float], ...] = (("a", 0.8), ("b", 1.0), ("c", 1.2))
DLQ_SUFFIX = ".dlq"
RETRY_SUFFIX = ".retry"


@dataclass(frozen=True)
class Binding:
    exchange: str
    routing_key: str


@dataclass(frozen=True)
class WorkQueue:
    """A consumer's queue ``<consumer>.<purpose>`` and the routing keys it is bound with."""

    name: str
    bindings: tuple[Binding, ...] = ()
    delivery_limit: int = 10

    @property
    def dlq(self) -> str:
        return dlq_name(self.name)

    @property
    def retry(self) -> str:
        return retry_queue_name(self.name)


@dataclass(frozen=True)
class RetryBucket:
    tier: str
    bucket: str
    ttl_ms: int

    @property
    def name(self) -> str:
        return f"{RETRY_PREFIX}.{self.tier}.{self.bucket}"


@dataclass(frozen=True)
class RetryTier:
    name: str
    ttl_ms: int
    buckets: tuple[RetryBucket, ...] = field(default=())

    @classmethod
    def parse(cls, name: str) -> RetryTier:
        ttl = parse_duration(name)
        buckets = tuple(
            RetryBucket(name, bucket, max(1, round(ttl * factor)))
            for bucket, factor in JITTER_BUCKETS
        )
        return cls(name=name, ttl_ms=ttl, buckets=buckets)


def parse_tiers(names: Iterable[str]) -> tuple[RetryTier, ...]:
    return tuple(sorted((RetryTier.parse(n) for n in names), key=lambda t: t.ttl_ms))


def dlq_name(queue: str) -> str:
    return f"{queue}{DLQ_SUFFIX}"


def retry_queue_name(queue: str) -> str:
    """Where the retry tiers deliver the retries of ``queue``'s failed messages."""
    return f"{queue}{RETRY_SUFFIX}"


def source_queue(consumed: str) -> str:
    """The work queue a consumed queue serves: itself, or the queue whose retries it holds."""
    return consumed.removesuffix(RETRY_SUFFIX)


def work_queue_arguments(queue: str, delivery_limit: int) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": DLX_EXCHANGE,
        "x-dead-letter-routing-key": queue,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
        "x-delivery-limit": delivery_limit,
    }


def dlq_arguments() -> dict[str, Any]:
    return {"x-queue-type": "quorum"}


def retry_queue_arguments(ttl_ms: int) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        "x-message-ttl": ttl_ms,
        "x-dead-letter-exchange": "",
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def lossy_queue_arguments(max_length: int) -> dict[str, Any]:
    """For analytics: drops the oldest when full, never nacks publishers (no DLX, no retries)."""
    return {"x-queue-type": "quorum", "x-max-length": max_length, "x-overflow": "drop-head"}


class TopologyMismatchError(RuntimeError):
    """An existing queue or exchange was declared with different structural arguments."""

    def __init__(self, kind: str, name: str, argument: str, detail: str) -> None:
        self.kind = kind
        self.name = name
        self.argument = argument
        super().__init__(
            f"RabbitMQ {kind} {name!r} already exists with a different {argument!r} ({detail}); "
            "refusing to start. Structural arguments cannot change in place: declare a new "
            "queue name and move the messages."
        )


_INEQUIVALENT = re.compile(
    r"inequivalent arg '(?P<arg>[^']+)' for (?P<kind>queue|exchange) '(?P<name>[^']+)'"
    r"[^:]*:\s*(?P<detail>.*)"
)


def _mismatch(exc: ChannelPreconditionFailed, kind: str, name: str) -> TopologyMismatchError:
    text = str(exc)
    match = _INEQUIVALENT.search(text)
    if match:
        return TopologyMismatchError(
            match.group("kind"),
            match.group("name"),
            match.group("arg"),
            match.group("detail")[:200],
        )
    return TopologyMismatchError(kind, name, "arguments", text[:200])


class TopologyDeclarer:
    """Declares on its own channel, reopened after a refused declaration closes it."""

    def __init__(self, connection: AbstractConnection) -> None:
        self.connection = connection
        self._channel: AbstractChannel | None = None

    async def channel(self) -> AbstractChannel:
        if self._channel is None or self._channel.is_closed:
            self._channel = await self.connection.channel(publisher_confirms=False)
        return self._channel

    async def exchange(self, name: str, kind: ExchangeType) -> None:
        channel = await self.channel()
        try:
            await channel.declare_exchange(name, kind, durable=True)
        except ChannelPreconditionFailed as exc:
            self._channel = None
            raise _mismatch(exc, "exchange", name) from exc

    async def queue(self, name: str, arguments: dict[str, Any]) -> aio_pika.abc.AbstractQueue:
        channel = await self.channel()
        try:
            return await channel.declare_queue(name, durable=True, arguments=arguments)
        except ChannelPreconditionFailed as exc:
            self._channel = None
            raise _mismatch(exc, "queue", name) from exc

    async def close(self) -> None:
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()


async def declare_topology(
    connection: AbstractConnection,
    *,
    tiers: Sequence[RetryTier],
    queues: Sequence[WorkQueue] = (),
) -> None:
    """Exchanges, tiers, then per work queue its DLQ before the queue itself, its bindings and
    its retry queue."""
    declarer = TopologyDeclarer(connection)
    try:
        await declarer.exchange(EVENTS_EXCHANGE, ExchangeType.TOPIC)
        await declarer.exchange(COMMANDS_EXCHANGE, ExchangeType.DIRECT)
        await declarer.exchange(DLX_EXCHANGE, ExchangeType.DIRECT)
        for tier in tiers:
            for bucket in tier.buckets:
                await declarer.exchange(bucket.name, ExchangeType.FANOUT)
                tier_queue = await declarer.queue(bucket.name, retry_queue_arguments(bucket.ttl_ms))
                await tier_queue.bind(bucket.name, routing_key="")
        for work in queues:
            dlq = await declarer.queue(work.dlq, dlq_arguments())
            await dlq.bind(DLX_EXCHANGE, routing_key=work.name)
            queue = await declarer.queue(
                work.name, work_queue_arguments(work.name, work.delivery_limit)
            )
            for binding in work.bindings:
                await queue.bind(binding.exchange, routing_key=binding.routing_key)
            await declarer.queue(work.retry, work_queue_arguments(work.name, work.delivery_limit))
    finally:
        await declarer.close()
