"""Runs a real consumer runtime (FastStream broker + failure middleware) against the run's vhost."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection
from messaging.envelope import Envelope
from messaging.runtime import ConsumerRuntime
from messaging.settings import MessagingSettings
from messaging.subscriber import Subscription
from messaging.topology import EVENTS_EXCHANGE, declare_topology, parse_tiers

from tests.support.isolation import RunInfra

TEST_TIERS = ["1s", "2s"]


def settings_for(infra: RunInfra, **overrides: Any) -> MessagingSettings:
    values: dict[str, Any] = {
        "rabbitmq_url": infra.rabbitmq_url,
        "service_name": "demo",
        "retry_tiers": TEST_TIERS,
        "retry_default_schedule": TEST_TIERS,
        "graceful_timeout_seconds": 10,
        **overrides,
    }
    return MessagingSettings(**values)


@contextlib.asynccontextmanager
async def running(
    infra: RunInfra,
    amqp: AbstractConnection,
    subscriptions: Sequence[Subscription[None]],
    **overrides: Any,
) -> AsyncIterator[ConsumerRuntime[None]]:
    runtime = ConsumerRuntime(settings_for(infra, **overrides), subscriptions, deps=None)
    await declare_topology(amqp, tiers=parse_tiers(TEST_TIERS), queues=runtime.work_queues())
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


async def publish_event(
    channel: AbstractChannel,
    message_type: str,
    data: dict[str, Any],
    *,
    message_id: uuid.UUID | None = None,
    headers: dict[str, Any] | None = None,
) -> Envelope:
    envelope = Envelope(
        message_id=message_id or uuid.uuid4(), type=message_type, producer="tests", data=data
    )
    exchange = await channel.get_exchange(EVENTS_EXCHANGE, ensure=False)
    await exchange.publish(
        aio_pika.Message(
            envelope.to_bytes(),
            message_id=str(envelope.message_id),
            type=message_type,
            content_type="application/json",
            headers=headers or {},
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        ),
        routing_key=message_type,
    )
    return envelope


async def publish_raw(channel: AbstractChannel, routing_key: str, body: bytes) -> str:
    message_id = str(uuid.uuid4())
    exchange = await channel.get_exchange(EVENTS_EXCHANGE, ensure=False)
    await exchange.publish(
        aio_pika.Message(body, message_id=message_id, content_type="application/json"),
        routing_key=routing_key,
    )
    return message_id


def headers_of(message: aio_pika.abc.AbstractIncomingMessage) -> dict[str, Any]:
    return json.loads(json.dumps(dict(message.headers or {}), default=str))
