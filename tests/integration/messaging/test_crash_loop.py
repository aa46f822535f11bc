"""A handler that kills its consumer process on every delivery ends in the DLQ through the
quorum delivery limit, and the service's ingester records it as a crash loop."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from aio_pika.abc import AbstractChannel, AbstractConnection
from messaging.subscriber import Delivery, Subscriptions
from messaging.topology import (
    EVENTS_EXCHANGE,
    Binding,
    WorkQueue,
    declare_topology,
    parse_tiers,
)
from sqlalchemy import select

from tests.integration.messaging.harness import publish_event
from tests.integration.messaging.queues import depth
from tests.integration.messaging.service_app import demo_app, demo_settings, serving
from tests.support.isolation import RunInfra
from tests.support.messaging_store import Store
from tests.support.polling import eventually
from tests.support.samples import unique

LIMIT = 2


async def _run_crashing_consumer(infra: RunInfra, queue: str) -> int:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.messaging.crash_consumer",
        infra.rabbitmq_url,
        queue,
        str(LIMIT),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    async with asyncio.timeout(60):
        return await proc.wait()


async def test_crash_loop_reaches_dlq_via_delivery_limit_and_is_ingested(
    infra: RunInfra, store: Store, amqp: AbstractConnection, channel: AbstractChannel
) -> None:
    queue = unique("demo.crash.")
    event_type = f"{unique('demo.crash')}.happened.v1"
    work = WorkQueue(queue, (Binding(EVENTS_EXCHANGE, event_type),), delivery_limit=LIMIT)
    await declare_topology(amqp, tiers=parse_tiers(["1s"]), queues=[work])
    envelope = await publish_event(channel, event_type, {"boom": True})

    async def where_the_message_is() -> str:
        # after a crash the message is either back in the queue or (at-least-once
        # dead-lettering is asynchronous) on its way to the DLQ: wait until it is in one
        if await depth(channel, work.dlq):
            return "dlq"
        assert await depth(channel, queue), "the message is in neither queue yet"
        return "queue"

    async def settled() -> str:
        return await eventually(
            where_the_message_is, what="the message in the DLQ or back in its queue", timeout=30
        )

    exits: list[int] = []
    while await settled() == "queue":
        assert len(exits) <= LIMIT, "the delivery limit did not stop the crash loop"
        exits.append(await _run_crashing_consumer(infra, queue))
    assert exits == [3] * (LIMIT + 1)  # delivered LIMIT + 1 times, then dead-lettered
    assert await depth(channel, queue) == 0

    subs = Subscriptions()

    @subs.subscribe(queue, events=[event_type])
    async def healthy(delivery: Delivery) -> None:
        raise AssertionError("the dead-lettered message must not come back by itself")

    settings = demo_settings(infra, store, queue_delivery_limits={queue: LIMIT})
    t = store.tables.failed_messages

    async def ingested() -> Any:
        async with store.sessions() as session:
            row = (await session.execute(select(t).where(t.c.queue == queue))).first()
        assert row is not None, "no failed_messages row for the queue yet"
        return row

    async with serving(demo_app(settings, store, subs)):
        row = await eventually(
            ingested, what="the crash loop ingested as a dead letter", timeout=20, interval=0.1
        )
    assert row.message_id == str(envelope.message_id)
    assert row.failure_kind == "delivery_limit"
    assert row.exception_type == "DeliveryLimitExceeded"
    assert row.exchange == "nerava.events" and row.routing_key == event_type
    assert row.headers["x-first-death-reason"] == "delivery_limit"
    assert row.status == "unresolved"
