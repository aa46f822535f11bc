"""Messaging inside a real service app: one trace from request to replay, readiness follows the
consumers, graceful shutdown loses nothing, structural drift stops startup."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
import pytest
from aio_pika.abc import AbstractChannel
from messaging.broker_errors import BROKER_ERRORS
from messaging.contracts import Contracts, Event
from messaging.failures import PermanentError, TransientError
from messaging.outbox import Outbox
from messaging.subscriber import Delivery, Subscriptions
from messaging.topology import TopologyMismatchError
from opentelemetry import trace
from opentelemetry.trace import StatusCode
from yarl import URL

from tests.integration.messaging.harness import publish_event
from tests.integration.messaging.queues import depth
from tests.integration.messaging.service_app import demo_app, demo_settings, serving
from tests.integration.messaging.tcp_proxy import TcpProxy
from tests.support.isolation import RunInfra
from tests.support.jwt_tokens import TestSigningKeys
from tests.support.messaging_store import Store
from tests.support.polling import eventually
from tests.support.samples import unique
from tests.support.spans import captured_spans


class ParcelShippedV1(Event):
    message_type: ClassVar[str] = "demo.parcel.shipped.v1"
    parcel: str


async def test_trace_survives_publish_consume_retry_and_replay(
    infra: RunInfra, store: Store
) -> None:
    keys = TestSigningKeys()
    auth = {"Authorization": f"Bearer {keys.mint(role='admin')}"}
    queue = unique("demo.trace.")
    calls: list[Delivery] = []
    succeeded = asyncio.Event()
    subs = Subscriptions()

    @subs.subscribe(queue, events=[ParcelShippedV1])
    async def on_shipped(delivery: Delivery) -> None:
        calls.append(delivery)
        if len(calls) == 1:
            raise TransientError("carrier API 503")
        if len(calls) == 2:
            raise PermanentError("carrier rejected the label")
        succeeded.set()

    outbox = Outbox(store.tables.outbox, Contracts("demo", [ParcelShippedV1]))
    settings = demo_settings(infra, store, retry_schedules={queue: ["1s"]})
    tracer = trace.get_tracer("tests")
    with captured_spans() as spans:
        async with serving(demo_app(settings, store, subs, keys)) as client:
            with tracer.start_as_current_span("POST /v1/parcels") as request_span:
                async with store.sessions.begin() as session:
                    await outbox.add(session, ParcelShippedV1(parcel="p1"))
            trace_id = request_span.get_span_context().trace_id

            async def one_listed() -> httpx.Response:
                listed = await client.get(
                    "/v1/admin/dead-letters", params={"queue": queue}, headers=auth
                )
                assert listed.json()["total"] == 1, listed.json()
                return listed

            listed = await eventually(
                one_listed, what="the dead letter listed", timeout=30, interval=0.1
            )
            [row] = listed.json()["items"]
            replay = await client.post(f"/v1/admin/dead-letters/{row['id']}/replay", headers=auth)
            assert replay.json()["replayed"] == 1
            async with asyncio.timeout(20):
                await succeeded.wait()
            metrics = (await client.get("/metrics")).text
        consumer_spans = [s for s in spans.get_finished_spans() if s.name == f"{queue} process"]

    for outcome in ("retried", "dead_lettered", "acked"):
        assert f'messaging_consumed_total{{outcome="{outcome}",queue="{queue}"}} 1.0' in metrics
    assert "messaging_outbox_published_total 1.0" in metrics
    assert [c.attempt for c in calls] == [0, 1, 0]
    assert calls[2].replay_count == 1
    assert len(consumer_spans) == 3
    assert {s.context.trace_id for s in consumer_spans} == {trace_id}
    # a transient failure's event carries type and message only; the DLQ's keeps its trace
    retried, dead = (s for s in consumer_spans if s.status.status_code is StatusCode.ERROR)
    [transient] = retried.events
    assert transient.name == "exception" and transient.attributes is not None
    assert transient.attributes["exception.type"] == "messaging.failures.TransientError"
    assert transient.attributes["exception.message"] == "carrier API 503"
    assert "exception.stacktrace" not in transient.attributes
    [permanent] = dead.events
    assert permanent.attributes is not None
    assert permanent.attributes["exception.type"] == "messaging.failures.PermanentError"
    assert "on_shipped" in str(permanent.attributes["exception.stacktrace"])
    for delivery in calls:
        assert str(delivery.headers["traceparent"]).split("-")[1] == format(trace_id, "032x")


async def test_readiness_turns_red_when_a_queue_is_deleted_under_its_consumer(
    infra: RunInfra, store: Store, channel: AbstractChannel
) -> None:
    queue = unique("demo.ready.")
    subs = Subscriptions()

    @subs.subscribe(queue, events=[f"{queue}.happened.v1"])
    async def handle(delivery: Delivery) -> None:
        return None

    async with serving(demo_app(demo_settings(infra, store), store, subs)) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["rabbitmq"]["consumers"] == {queue: 1, f"{queue}.retry": 1}

        await channel.queue_delete(queue)
        red = await client.get("/readyz")
        assert red.status_code == 503, red.text
        body = red.json()
        assert body["unavailable"] == ["rabbitmq"]
        assert body["checks"]["rabbitmq"]["consumers"][queue] == "missing"
        assert queue in body["checks"]["rabbitmq"]["error"]


async def test_graceful_shutdown_finishes_in_flight_handlers_and_loses_nothing(
    infra: RunInfra, store: Store, channel: AbstractChannel
) -> None:
    queue = unique("demo.stop.")
    event_type = f"{queue}.happened.v1"
    gate = asyncio.Event()
    started: list[uuid.UUID] = []
    finished: list[uuid.UUID] = []
    three_started = asyncio.Event()
    five_finished = asyncio.Event()
    subs = Subscriptions()

    @subs.subscribe(queue, events=[event_type])
    async def slow(delivery: Delivery) -> None:
        started.append(delivery.message_id)
        if len(started) == 3:
            three_started.set()
        await gate.wait()
        finished.append(delivery.message_id)
        if len(finished) == 5:
            five_finished.set()

    settings = demo_settings(infra, store, queue_prefetch={queue: 3})
    app = demo_app(settings, store, subs)
    sent = []
    async with serving(app):
        sent = [await publish_event(channel, event_type, {"i": i}) for i in range(5)]
        async with asyncio.timeout(20):
            await three_started.wait()
        # shutdown begins when this block exits; the handlers finish 0.5 s into it
        asyncio.get_running_loop().call_later(0.5, gate.set)
    assert sorted(finished) == sorted(started) and len(finished) == 3
    assert await depth(channel, queue) == 2  # not started: still in the queue, not lost

    async with serving(demo_app(settings, store, subs)):
        async with asyncio.timeout(20):
            await five_finished.wait()
    assert sorted(finished) == sorted(e.message_id for e in sent)


async def test_structural_argument_mismatch_stops_startup_naming_queue_and_argument(
    infra: RunInfra, store: Store, channel: AbstractChannel
) -> None:
    queue = unique("demo.drift.")
    await channel.declare_queue(
        queue, durable=True, arguments={"x-queue-type": "quorum", "x-delivery-limit": 3}
    )
    subs = Subscriptions()

    @subs.subscribe(queue, events=[f"{queue}.happened.v1"])
    async def handle(delivery: Delivery) -> None:
        return None

    with pytest.raises(TopologyMismatchError) as caught:
        async with serving(demo_app(demo_settings(infra, store), store, subs)):
            pass
    assert caught.value.name == queue
    message = str(caught.value)
    assert queue in message
    assert "x-dead-letter-exchange" in message or "x-delivery-limit" in message
    assert caught.value.argument in message


@dataclass
class Starting:
    served: asyncio.Event = field(default_factory=asyncio.Event)
    ready_answers: list[int] = field(default_factory=list)


@contextlib.asynccontextmanager
async def starting(settings: Any, store: Store) -> AsyncIterator[Starting]:
    """The demo service starting in the background while the block runs; once it serves, its
    readiness answer is kept and ``served`` set. It stops when the block ends."""
    started, finished = Starting(), asyncio.Event()

    async def serve() -> None:
        async with serving(demo_app(settings, store, Subscriptions())) as client:
            started.ready_answers.append((await client.get("/readyz")).status_code)
            started.served.set()
            await finished.wait()

    service = asyncio.create_task(serve())
    try:
        yield started
    finally:
        finished.set()
        await service


async def test_a_service_started_while_rabbitmq_is_away_waits_for_it_then_serves(
    infra: RunInfra, store: Store
) -> None:
    url = URL(infra.rabbitmq_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5672)
    await proxy.start()
    proxy.cut()  # the broker is away as the service starts
    settings = demo_settings(
        infra, store, rabbitmq_url=str(url.with_port(proxy.port)), broker_connect_wait_seconds=30
    )
    try:
        async with starting(settings, store) as started:
            await proxy.wait_refused(2)  # it tried, was refused, and is still waiting
            assert not started.served.is_set()
            proxy.restore()
            async with asyncio.timeout(30):
                await started.served.wait()
    finally:
        await proxy.stop()
    assert started.ready_answers == [200]


async def test_a_broker_gone_in_the_middle_of_startup_is_waited_for_too(
    infra: RunInfra, store: Store
) -> None:
    """RabbitMQ goes away after the first connection, while the rest of messaging starts (a
    broker restart during a deploy): the startup begins again instead of failing."""
    url = URL(infra.rabbitmq_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5672)
    await proxy.start()
    settings = demo_settings(
        infra, store, rabbitmq_url=str(url.with_port(proxy.port)), broker_connect_wait_seconds=30
    )
    try:
        async with starting(settings, store) as started:
            await proxy.wait_accepted(2)  # connected, and opening the next connection
            proxy.cut()
            await proxy.wait_refused(1)
            proxy.restore()
            async with asyncio.timeout(30):
                await started.served.wait()
    finally:
        await proxy.stop()
    assert started.ready_answers == [200]


async def test_a_service_gives_up_starting_once_its_wait_for_rabbitmq_is_over(
    infra: RunInfra, store: Store
) -> None:
    url = URL(infra.rabbitmq_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5672)
    await proxy.start()
    proxy.cut()
    settings = demo_settings(
        infra, store, rabbitmq_url=str(url.with_port(proxy.port)), broker_connect_wait_seconds=1
    )
    try:
        with pytest.raises(BROKER_ERRORS):
            async with serving(demo_app(settings, store, Subscriptions())):
                pass
    finally:
        await proxy.stop()
