"""Outbox + relay on real Postgres and RabbitMQ: committed rows are published with the
envelope and AMQP properties; rolled-back ones never; unroutable commands are kept, not lost;
two relays never publish a row twice."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aio_pika.abc import AbstractChannel, AbstractConnection, DeliveryMode
from common.request_context import request_id_var
from messaging.envelope import Envelope
from messaging.metrics import MessagingMetrics
from messaging.outbox import Outbox
from messaging.relay import OutboxRelay, RelayConfig
from messaging.topology import (
    COMMANDS_EXCHANGE,
    EVENTS_EXCHANGE,
    Binding,
    WorkQueue,
    declare_topology,
    parse_tiers,
)
from opentelemetry import trace
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select

from tests.integration.messaging.queues import drain_nothing, take
from tests.integration.messaging.sample_contracts import DEMO, DoThingV1, ThingHappenedV1
from tests.support.isolation import RunInfra
from tests.support.messaging_store import Store
from tests.support.polling import eventually
from tests.support.samples import unique


def _relay(store: Store, infra: RunInfra, **overrides: Any) -> OutboxRelay:
    options: dict[str, Any] = {"poll_seconds": 0.2, **overrides}
    config = RelayConfig(amqp_url=infra.rabbitmq_url, app_id="demo", **options)
    return OutboxRelay(store.engine, store.tables.outbox, config)


async def _bind(amqp: AbstractConnection, routing_key: str, exchange: str = EVENTS_EXCHANGE) -> str:
    name = unique("relay.test.")
    await declare_topology(
        amqp, tiers=parse_tiers(["1s"]), queues=[WorkQueue(name, (Binding(exchange, routing_key),))]
    )
    return name


async def test_committed_message_is_published_with_envelope_and_properties(
    store: Store, infra: RunInfra, amqp: AbstractConnection, channel: AbstractChannel
) -> None:
    queue = await _bind(amqp, ThingHappenedV1.message_type)
    outbox = Outbox(store.tables.outbox, DEMO)
    token = request_id_var.set("req-42")
    tracer = trace.get_tracer("test")
    try:
        with tracer.start_as_current_span("request") as span:
            async with store.sessions.begin() as session:
                envelope = await outbox.add(session, ThingHappenedV1(thing_id="t1", size=3))
            trace_id = format(span.get_span_context().trace_id, "032x")
    finally:
        request_id_var.reset(token)
    async with store.sessions.begin() as session:  # rolled back: never published
        await outbox.add(session, ThingHappenedV1(thing_id="rolled-back"))
        await session.rollback()

    relay = _relay(store, infra)
    await relay.start()
    try:
        [message] = await take(channel, queue, 1)
    finally:
        await relay.stop()

    assert message.message_id == str(envelope.message_id)
    assert message.delivery_mode == DeliveryMode.PERSISTENT
    assert message.app_id == "demo"
    assert message.type == "demo.thing.happened.v1"
    assert message.correlation_id == "req-42"
    assert message.headers["x-origin-service"] == "demo"
    assert str(message.headers["traceparent"]).split("-")[1] == trace_id
    received = Envelope.from_bytes(message.body)
    assert received.data == {"thing_id": "t1", "size": 3}
    assert received.producer == "demo" and received.correlation_id == "req-42"
    assert await drain_nothing(channel, queue, within=0.5) == 0
    async with store.sessions() as session:
        pending = await session.scalar(
            select(func.count()).where(store.tables.outbox.c.sent_at.is_(None))
        )
    assert pending == 0


async def test_unroutable_command_is_kept_until_its_queue_exists(
    store: Store, infra: RunInfra, amqp: AbstractConnection, channel: AbstractChannel
) -> None:
    outbox = Outbox(store.tables.outbox, DEMO)
    async with store.sessions.begin() as session:
        envelope = await outbox.add(session, DoThingV1(thing_id="x"))
    relay = _relay(store, infra)
    assert await _relay_now(relay) == 0  # returned by the broker: not marked sent
    t = store.tables.outbox
    async with store.sessions() as session:
        row = (await session.execute(select(t.c.sent_at, t.c.last_error))).one()
    assert row.sent_at is None
    assert "PublishError" in (row.last_error or "") or "NO_ROUTE" in (row.last_error or "")

    queue = await _bind(amqp, DoThingV1.message_type, COMMANDS_EXCHANGE)
    async with store.sessions.begin() as session:  # make it due now instead of after backoff
        await session.execute(t.update().values(available_at=func.now()))
    assert await _relay_now(relay) == 1
    [message] = await take(channel, queue, 1)
    assert message.message_id == str(envelope.message_id)


async def _relay_now(relay: OutboxRelay) -> int:
    await relay.connect()
    try:
        return await relay.relay_once()
    finally:
        await relay.stop()


async def test_two_relays_never_publish_a_row_twice(
    store: Store, infra: RunInfra, amqp: AbstractConnection, channel: AbstractChannel
) -> None:
    queue = await _bind(amqp, ThingHappenedV1.message_type)
    outbox = Outbox(store.tables.outbox, DEMO)
    async with store.sessions.begin() as session:
        await outbox.add_many(session, [ThingHappenedV1(thing_id=str(i)) for i in range(300)])
    relays = [_relay(store, infra, batch_size=50) for _ in range(2)]
    for relay in relays:
        await relay.connect()
    barrier = asyncio.Barrier(2)

    async def drain(relay: OutboxRelay) -> int:
        total = 0
        while True:
            await barrier.wait()  # both claim at the same moment, every round
            n = await relay.relay_once()
            total += n
            if n == 0:
                return total

    try:
        counts = await asyncio.gather(*(drain(r) for r in relays))
    finally:
        for relay in relays:
            await relay.stop()
    assert sum(counts) == 300
    assert all(c > 0 for c in counts)
    messages = await take(channel, queue, 300)
    ids = [m.message_id for m in messages]
    assert len(set(ids)) == 300
    assert await drain_nothing(channel, queue, within=0.5) == 0
    uuid.UUID(ids[0])


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_commits_during_the_gather_window_go_out_in_one_claim(
    store: Store, infra: RunInfra, amqp: AbstractConnection, channel: AbstractChannel
) -> None:
    queue = await _bind(amqp, ThingHappenedV1.message_type)
    outbox = Outbox(store.tables.outbox, DEMO)
    config = RelayConfig(
        amqp_url=infra.rabbitmq_url, app_id="demo", poll_seconds=30.0, gather_seconds=0.5
    )
    registry = CollectorRegistry()
    relay = OutboxRelay(store.engine, store.tables.outbox, config, MessagingMetrics(registry))
    await relay.start()
    try:
        await eventually(
            lambda: _sample(registry, "messaging_outbox_claims_total", result="empty") == 1,
            what="the relay's first, empty round",
        )
        for i in range(5):  # five requests, each its own commit and NOTIFY
            async with store.sessions.begin() as session:
                await outbox.add(session, ThingHappenedV1(thing_id=str(i)))
        assert len(await take(channel, queue, 5)) == 5
    finally:
        await relay.stop()
    assert _sample(registry, "messaging_outbox_claims_total", result="rows") == 1
    assert _sample(registry, "messaging_outbox_claimed_rows_total") == 5
