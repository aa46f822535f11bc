"""Analytics are best effort: ``emit`` never blocks or raises while RabbitMQ is away; the bounded
buffer drops and counts the overflow; events flow again once the broker is back."""

from __future__ import annotations

from typing import ClassVar

from aio_pika.abc import AbstractChannel, AbstractConnection
from messaging.analytics import AnalyticsPublisher
from messaging.contracts import Contracts, Event
from messaging.metrics import MessagingMetrics
from messaging.topology import (
    EVENTS_EXCHANGE,
    declare_topology,
    lossy_queue_arguments,
    parse_tiers,
)
from prometheus_client import CollectorRegistry
from yarl import URL

from tests.integration.messaging.queues import take
from tests.integration.messaging.tcp_proxy import TcpProxy
from tests.support.isolation import RunInfra
from tests.support.samples import unique


class ScreenViewedV1(Event):
    message_type: ClassVar[str] = "demo.screen.viewed.v1"
    screen: str


async def test_emit_never_blocks_drops_and_counts_while_broker_away_then_recovers(
    infra: RunInfra, amqp: AbstractConnection, channel: AbstractChannel
) -> None:
    await declare_topology(amqp, tiers=parse_tiers(["1s"]), queues=[])
    queue = unique("analytics.test.")
    lossy = await channel.declare_queue(
        queue, durable=True, arguments=lossy_queue_arguments(max_length=10_000)
    )
    await lossy.bind(EVENTS_EXCHANGE, routing_key=ScreenViewedV1.message_type)

    url = URL(infra.rabbitmq_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5672)
    await proxy.start()
    proxy.cut()
    registry = CollectorRegistry()
    metrics = MessagingMetrics(registry)
    publisher = AnalyticsPublisher(
        str(url.with_port(proxy.port)),
        Contracts("demo", [ScreenViewedV1]),
        buffer_size=50,
        metrics=metrics,
        reconnect_max_s=0.2,
    )
    await publisher.start()
    try:
        accepted = [publisher.emit(ScreenViewedV1(screen=f"s{i}")) for i in range(200)]
        assert accepted.count(True) == 50 and accepted.count(False) == 150
        dropped = registry.get_sample_value(
            "messaging_analytics_dropped_total", {"reason": "buffer_full"}
        )
        assert dropped == 150
        await proxy.wait_refused(1)

        proxy.restore()
        received = await take(channel, queue, 50, limit_s=30)
        assert {m.type for m in received} == {ScreenViewedV1.message_type}
        assert publisher.emit(ScreenViewedV1(screen="after"))
        [late] = await take(channel, queue, 1, limit_s=30)
        assert b'"after"' in late.body
    finally:
        await publisher.stop()
        await proxy.stop()
    assert publisher.published == 51
