"""Retries through the shared TTL tiers and the DLQ on the real broker (tiers 1 s / 2 s)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aio_pika.abc import AbstractChannel, AbstractConnection
from messaging.failures import PermanentError, TransientError
from messaging.subscriber import Delivery, Subscriptions

from tests.integration.messaging.harness import headers_of, publish_event, publish_raw, running
from tests.integration.messaging.queues import depth, drain_nothing, take
from tests.support.isolation import RunInfra
from tests.support.polling import eventually
from tests.support.samples import unique


async def test_transient_twice_then_success_on_third_attempt_other_subscriber_sees_it_once(
    infra: RunInfra, amqp: AbstractConnection, channel: AbstractChannel
) -> None:
    event_type = f"{unique('demo.r')}.happened.v1"
    flaky_calls: list[tuple[float, Delivery]] = []
    other_calls: list[Delivery] = []
    done = asyncio.Event()
    subs = Subscriptions()

    @subs.subscribe(unique("demo.flaky."), events=[event_type])
    async def flaky(delivery: Delivery) -> None:
        flaky_calls.append((time.monotonic(), delivery))
        if len(flaky_calls) <= 2:
            raise TransientError("provider answered 503")
        done.set()

    @subs.subscribe(unique("demo.other."), events=[event_type])
    async def other(delivery: Delivery) -> None:
        other_calls.append(delivery)

    async with running(infra, amqp, subs.items):
        envelope = await publish_event(channel, event_type, {"n": 1})
        async with asyncio.timeout(30):
            await done.wait()

    assert len(flaky_calls) == 3
    assert [d.attempt for _, d in flaky_calls] == [0, 1, 2]
    assert {d.message_id for _, d in flaky_calls} == {envelope.message_id}
    tiers = [str(d.headers.get("x-retry-tier", "")) for _, d in flaky_calls[1:]]
    assert tiers[0].startswith("1s.") and tiers[1].startswith("2s.")
    # waited in the tiers: at least the shortest jitter bucket (x0.8) of each configured delay
    assert flaky_calls[1][0] - flaky_calls[0][0] >= 0.8 * 1 - 0.05
    assert flaky_calls[2][0] - flaky_calls[1][0] >= 0.8 * 2 - 0.05
    # the broker's x-death holds only the last tier hop: we strip it on every republish
    deaths = flaky_calls[2][1].headers["x-death"]
    assert len(deaths) == 1 and deaths[0]["count"] == 1
    assert len(other_calls) == 1 and other_calls[0].attempt == 0
    # the tier delivered the retries into the retry queue, not the work queue
    assert deaths[0]["routing-keys"] == [f"{flaky_calls[0][1].consumer}.retry"]


async def test_retries_wait_in_their_own_queue_and_never_hold_up_fresh_messages(
    infra: RunInfra, amqp: AbstractConnection, channel: AbstractChannel
) -> None:
    """The one retry slot (``DEFAULT_RETRY_PREFETCH=1``) is held by a slow retry; the other
    failed message's retry waits in ``<queue>.retry`` meanwhile, and fresh messages are handled
    at once through the work queue's own slots."""
    event_type = f"{unique('demo.iso')}.happened.v1"
    queue = unique("demo.iso.")
    release = asyncio.Event()
    handled: list[tuple[str, int]] = []
    fresh_done = asyncio.Event()
    subs = Subscriptions()

    @subs.subscribe(queue, events=[event_type])
    async def handler(delivery: Delivery) -> None:
        kind = str(delivery.envelope.data["kind"])
        handled.append((kind, delivery.attempt))
        if kind == "failing" and delivery.attempt == 0:
            raise TransientError("provider answered 503")
        if kind == "failing":
            await release.wait()  # a slow retry
        if kind == "fresh" and sum(k == "fresh" for k, _ in handled) == 5:
            fresh_done.set()

    def retries_started() -> int:
        return sum(1 for kind, attempt in handled if kind == "failing" and attempt == 1)

    async def retry_waiting() -> bool:
        return await depth(channel, f"{queue}.retry") >= 1

    async with running(infra, amqp, subs.items, default_prefetch=2, default_retry_prefetch=1):
        await publish_event(channel, event_type, {"kind": "failing"})
        await publish_event(channel, event_type, {"kind": "failing"})
        await eventually(lambda: retries_started() == 1, what="a retry in the retry slot")
        await eventually(retry_waiting, what="the other retry waiting in its queue", timeout=20)
        for _ in range(5):
            await publish_event(channel, event_type, {"kind": "fresh"})
        async with asyncio.timeout(10):
            await fresh_done.wait()
        assert retries_started() == 1
        assert await depth(channel, queue) == 0
        release.set()
        await eventually(lambda: retries_started() == 2, what="the waiting retry")


async def test_always_transient_lands_in_dlq_after_last_tier_with_every_header(
    infra: RunInfra, amqp: AbstractConnection, channel: AbstractChannel
) -> None:
    event_type = f"{unique('demo.a')}.happened.v1"
    queue = unique("demo.always.")
    calls: list[Delivery] = []
    subs = Subscriptions()

    @subs.subscribe(queue, events=[event_type])
    async def always(delivery: Delivery) -> None:
        calls.append(delivery)
        raise TransientError("upstream timeout for +14155550123")

    async with running(infra, amqp, subs.items):
        envelope = await publish_event(channel, event_type, {"n": 2})
        [dead] = await take(channel, f"{queue}.dlq", 1, limit_s=30)

    assert len(calls) == 3  # first delivery + one per configured tier (1s, 2s)
    headers = headers_of(dead)
    assert dead.message_id == str(envelope.message_id)
    assert dead.body == envelope.to_bytes()
    assert headers["x-retry-attempt"] == 3
    assert headers["x-retry-max"] == 2
    assert headers["x-retry-tier"].startswith("2s.")
    assert headers["x-failure-kind"] == "exhausted"
    assert headers["x-exception-type"] == "messaging.failures.TransientError"
    assert "upstream timeout" in headers["x-exception-message"]
    assert "+14155550123" not in headers["x-exception-message"]
    assert len(headers["x-exception-fingerprint"]) == 40
    assert "TransientError" in headers["x-exception-stack"]
    assert headers["x-original-queue"] == queue
    assert headers["x-original-exchange"] == "nerava.events"
    assert headers["x-original-routing-key"] == event_type
    assert headers["x-failed-by"].startswith("demo@")
    assert int(headers["x-first-failed-at"]) <= int(headers["x-last-failed-at"])
    assert not any(k.startswith(("x-death", "x-first-death")) for k in headers)
    assert await drain_nothing(channel, f"{queue}.dlq", within=0.3) == 0


async def test_permanent_failure_and_invalid_payload_go_to_dlq_at_once(
    infra: RunInfra, amqp: AbstractConnection, channel: AbstractChannel
) -> None:
    event_type = f"{unique('demo.p')}.happened.v1"
    queue = unique("demo.perm.")
    calls: list[Delivery] = []
    subs = Subscriptions()

    @subs.subscribe(queue, events=[event_type])
    async def refuse(delivery: Delivery) -> None:
        calls.append(delivery)
        raise PermanentError("card number invalid")

    async with running(infra, amqp, subs.items):
        envelope = await publish_event(channel, event_type, {"n": 3})
        garbage_id = await publish_raw(channel, event_type, b"{not json")
        dead = await take(channel, f"{queue}.dlq", 2, limit_s=15)

    by_id: dict[str | None, Any] = {m.message_id: headers_of(m) for m in dead}
    assert by_id[str(envelope.message_id)]["x-failure-kind"] == "permanent"
    assert by_id[str(envelope.message_id)]["x-retry-attempt"] == 1
    assert by_id[garbage_id]["x-failure-kind"] == "poison"
    assert by_id[garbage_id]["x-exception-type"] == "pydantic_core._pydantic_core.ValidationError"
    assert len(calls) == 1  # the garbage never reached the handler; nothing was retried
