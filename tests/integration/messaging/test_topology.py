"""The topology bootstrap on the real broker: idempotent, complete, refuses structural drift."""

from __future__ import annotations

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from messaging.topology import (
    DLX_EXCHANGE,
    EVENTS_EXCHANGE,
    Binding,
    TopologyMismatchError,
    WorkQueue,
    declare_topology,
    parse_tiers,
)

from tests.integration.messaging.queues import take
from tests.support.polling import eventually, truthy
from tests.support.samples import unique

TIERS = parse_tiers(["1s", "2s"])


async def test_bootstrap_is_idempotent_and_declares_tiers_queues_and_dlqs(
    amqp: AbstractConnection, channel: AbstractChannel
) -> None:
    name = unique("topo.work.")
    work = WorkQueue(name, (Binding(EVENTS_EXCHANGE, f"{name}.happened.v1"),), delivery_limit=3)
    await declare_topology(amqp, tiers=TIERS, queues=[work])
    await declare_topology(amqp, tiers=TIERS, queues=[work])  # a second replica starting

    for tier in TIERS:
        for bucket in tier.buckets:
            await channel.declare_queue(bucket.name, passive=True)
    await channel.declare_queue(work.dlq, passive=True)
    await channel.declare_queue(work.retry, passive=True)

    events = await channel.get_exchange(EVENTS_EXCHANGE)
    await events.publish(
        aio_pika.Message(b"{}", message_id="m1"), routing_key=f"{name}.happened.v1"
    )
    assert [m.message_id for m in await take(channel, name, 1)] == ["m1"]

    dlx = await channel.get_exchange(DLX_EXCHANGE)
    await dlx.publish(aio_pika.Message(b"{}", message_id="d1"), routing_key=name)
    assert [m.message_id for m in await take(channel, work.dlq, 1)] == ["d1"]

    # a retry tier delivers into the retry queue by its name; its dead letters reach the DLQ
    tier = await channel.get_exchange(TIERS[0].buckets[0].name)
    await tier.publish(aio_pika.Message(b"{}", message_id="r1"), routing_key=work.retry)
    retry_queue = await channel.get_queue(work.retry, ensure=False)
    retried = await eventually(
        truthy(lambda: retry_queue.get(fail=False)), what="the retry after its tier"
    )
    assert isinstance(retried, AbstractIncomingMessage) and retried.message_id == "r1"
    await retried.reject(requeue=False)
    assert [m.message_id for m in await take(channel, work.dlq, 1)] == ["r1"]


async def test_structural_mismatch_stops_startup_naming_queue_and_argument(
    amqp: AbstractConnection, channel: AbstractChannel
) -> None:
    name = unique("topo.drift.")
    await channel.declare_queue(
        name,
        durable=True,
        arguments={"x-queue-type": "quorum", "x-dead-letter-exchange": "somewhere.else"},
    )
    with pytest.raises(TopologyMismatchError) as caught:
        await declare_topology(amqp, tiers=TIERS, queues=[WorkQueue(name)])
    assert caught.value.name == name
    assert caught.value.argument == "x-dead-letter-exchange"
    assert name in str(caught.value) and "x-dead-letter-exchange" in str(caught.value)
