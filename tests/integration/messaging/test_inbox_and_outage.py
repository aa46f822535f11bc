"""Idempotent consuming and nothing lost: duplicates have one effect (inbox), and outbox rows
committed while RabbitMQ is unreachable are all delivered, once each, when it is back."""

from __future__ import annotations

import asyncio
import uuid
from typing import ClassVar

from aio_pika.abc import AbstractChannel, AbstractConnection
from messaging.contracts import Contracts, Event
from messaging.inbox import Inbox
from messaging.outbox import Outbox
from messaging.relay import OutboxRelay, RelayConfig
from messaging.subscriber import Delivery, Subscriptions
from sqlalchemy import text
from yarl import URL

from tests.integration.messaging.harness import publish_event, running
from tests.integration.messaging.queues import depth
from tests.integration.messaging.tcp_proxy import TcpProxy
from tests.support.isolation import RunInfra
from tests.support.messaging_store import Store
from tests.support.samples import unique


async def _effects_table(store: Store) -> str:
    name = f'"{store.schema}".effects'
    async with store.engine.begin() as conn:
        await conn.execute(text(f"CREATE TABLE {name} (id serial PRIMARY KEY, message_id uuid)"))
    return name


async def _effects(store: Store, table: str) -> list[uuid.UUID]:
    async with store.engine.connect() as conn:
        return [r[0] for r in await conn.execute(text(f"SELECT message_id FROM {table}"))]


async def test_same_message_delivered_twice_concurrently_has_one_effect(
    infra: RunInfra, store: Store, amqp: AbstractConnection, channel: AbstractChannel
) -> None:
    effects = await _effects_table(store)
    inbox = Inbox(store.tables.inbox)
    event_type = f"{unique('demo.dup')}.happened.v1"
    queue = unique("demo.dup.")
    barrier = asyncio.Barrier(2)
    outcomes: list[str] = []
    both = asyncio.Event()
    subs = Subscriptions()

    @subs.subscribe(queue, events=[event_type])
    async def handle(delivery: Delivery) -> None:
        async with store.sessions.begin() as session:
            await barrier.wait()  # both deliveries are inside a transaction at once
            if await inbox.claim(session, delivery.consumer, delivery.message_id):
                await session.execute(
                    text(f"INSERT INTO {effects} (message_id) VALUES (:m)"),
                    {"m": delivery.message_id},
                )
                outcomes.append("applied")
            else:
                outcomes.append("duplicate")
        if len(outcomes) == 2:
            both.set()

    message_id = uuid.uuid4()
    async with running(infra, amqp, subs.items, queue_prefetch={queue: 2}):
        await publish_event(channel, event_type, {"n": 1}, message_id=message_id)
        await publish_event(channel, event_type, {"n": 1}, message_id=message_id)
        async with asyncio.timeout(20):
            await both.wait()
    assert sorted(outcomes) == ["applied", "duplicate"]
    assert await _effects(store, effects) == [message_id]
    assert await depth(channel, queue) == 0  # the duplicate was acked, not retried


class OrderPlacedV1(Event):
    message_type: ClassVar[str] = "demo.order.placed.v1"
    order: int


async def test_broker_unreachable_while_100_outbox_messages_commit_all_delivered_once(
    infra: RunInfra, store: Store, amqp: AbstractConnection, channel: AbstractChannel
) -> None:
    effects = await _effects_table(store)
    inbox = Inbox(store.tables.inbox)
    queue = unique("demo.outage.")
    done = asyncio.Event()
    applied: list[uuid.UUID] = []
    subs = Subscriptions()

    @subs.subscribe(queue, events=[OrderPlacedV1])
    async def on_order(delivery: Delivery) -> None:
        async with store.sessions.begin() as session:
            if await inbox.claim(session, delivery.consumer, delivery.message_id):
                await session.execute(
                    text(f"INSERT INTO {effects} (message_id) VALUES (:m)"),
                    {"m": delivery.message_id},
                )
                applied.append(delivery.message_id)
        if len(applied) == 100:
            done.set()

    url = URL(infra.rabbitmq_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5672)
    await proxy.start()
    relay = OutboxRelay(
        store.engine,
        store.tables.outbox,
        RelayConfig(
            amqp_url=str(url.with_port(proxy.port)),
            app_id="demo",
            poll_seconds=0.2,
            reconnect_max_seconds=0.5,
            publish_timeout_seconds=3,
        ),
    )
    outbox = Outbox(store.tables.outbox, Contracts("demo", [OrderPlacedV1]))
    async with running(infra, amqp, subs.items):
        await relay.start()
        try:
            proxy.cut()  # RabbitMQ unreachable for the relay from here on

            async def place(order: int) -> None:  # a request handler: one transaction each
                async with store.sessions.begin() as session:
                    await outbox.add(session, OrderPlacedV1(order=order))

            await asyncio.gather(*(place(i) for i in range(100)))
            async with asyncio.timeout(20):
                await proxy.wait_refused(2)  # the relay tried and failed to reconnect
            assert applied == []
            proxy.restore()
            async with asyncio.timeout(60):
                await done.wait()
        finally:
            await relay.stop()
            await proxy.stop()

    found = await _effects(store, effects)
    assert len(found) == 100 and len(set(found)) == 100
    async with store.engine.connect() as conn:
        pending = await conn.scalar(
            text(f'SELECT count(*) FROM "{store.schema}".outbox WHERE sent_at IS NULL')
        )
    assert pending == 0
