"""``uv run python -m bench.messaging``: one JSON line per scenario.

1. ``raw_publish``: aio-pika, persistent envelope-sized messages to a quorum queue, publisher
   confirms, pipelined in windows (the baseline, measured in the same run).
2. ``outbox_relay``: the same number of messages committed to the outbox first, then the relay
   publishes them (claim with SKIP LOCKED + lease, pipelined confirms, mark sent): msg/s and the
   ratio to raw publish (target >= 0.5).
3. ``outbox_to_consumer``: single-message transactions committed at a paced rate while the relay
   (woken by LISTEN/NOTIFY) and a consumer (FastStream + the failure middleware) run: latency
   from commit to handler start, p50/p99 (target p50 <= 20 ms).
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any, ClassVar

import aio_pika
from common.database import schema_metadata
from messaging.contracts import Contracts, Event
from messaging.outbox import Outbox
from messaging.relay import OutboxRelay, RelayConfig
from messaging.runtime import ConsumerRuntime
from messaging.settings import MessagingSettings
from messaging.subscriber import Delivery, Subscriptions
from messaging.tables import add_messaging_tables
from messaging.topology import (
    EVENTS_EXCHANGE,
    Binding,
    WorkQueue,
    declare_topology,
    parse_tiers,
)
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bench.messaging.isolation import BenchInfra, bench_infra
from bench.report import emit, latency_figures, ratio

BENCH = "messaging"
N_THROUGHPUT = 20_000
WINDOW = 500
LATENCY_RATE = 200  # messages per second
LATENCY_N = 2_000
SCHEMA = "bench"


class BenchEventV1(Event):
    message_type: ClassVar[str] = "bench.thing.happened.v1"
    seq: int
    sent_at: float
    pad: str = "x" * 120


CONTRACTS = Contracts("bench", [BenchEventV1])


async def raw_publish(infra: BenchInfra, body: bytes, queue: str) -> float:
    connection = await aio_pika.connect(infra.rabbitmq_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE, ensure=False)
        started = time.perf_counter()
        for start in range(0, N_THROUGHPUT, WINDOW):
            await asyncio.gather(
                *(
                    exchange.publish(
                        aio_pika.Message(
                            body,
                            message_id=f"raw-{i}",
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                            content_type="application/json",
                        ),
                        routing_key=BenchEventV1.message_type,
                    )
                    for i in range(start, min(start + WINDOW, N_THROUGHPUT))
                )
            )
        elapsed = time.perf_counter() - started
        await (await channel.get_queue(queue)).purge()
        return N_THROUGHPUT / elapsed
    finally:
        await connection.close()


async def main() -> int:
    async with bench_infra() as infra:
        engine = create_async_engine(infra.database_url, pool_size=10)
        metadata = schema_metadata(SCHEMA)
        tables = add_messaging_tables(metadata)
        async with engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
            await conn.run_sync(metadata.create_all)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        outbox = Outbox(tables.outbox, CONTRACTS)
        amqp = await aio_pika.connect(infra.rabbitmq_url)
        queue = "bench.sink"
        await declare_topology(
            amqp,
            tiers=parse_tiers(["5s"]),
            queues=[WorkQueue(queue, (Binding(EVENTS_EXCHANGE, BenchEventV1.message_type),))],
        )
        try:
            sample = BenchEventV1(seq=0, sent_at=0.0)
            body = sample.model_dump_json().encode() + b" " * 150  # envelope-sized
            raw_rate = await raw_publish(infra, body, queue)
            emit(
                BENCH,
                "raw_publish",
                messages=N_THROUGHPUT,
                window=WINDOW,
                msgs_per_s=round(raw_rate, 1),
            )

            relay_rate = await relay_throughput(engine, sessions, outbox, tables, infra)
            channel = await amqp.channel()
            await (await channel.get_queue(queue)).purge()
            emit(
                BENCH,
                "outbox_relay",
                messages=N_THROUGHPUT,
                batch=WINDOW,
                msgs_per_s=round(relay_rate, 1),
                ratio_to_raw=ratio(relay_rate, raw_rate),
                target_ratio=0.5,
            )

            samples = await latency(engine, sessions, outbox, tables, infra)
            emit(
                BENCH,
                "outbox_to_consumer",
                messages=len(samples),
                rate_per_s=LATENCY_RATE,
                **latency_figures(samples),
                target_p50_ms=20,
            )
        finally:
            await amqp.close()
            await engine.dispose()
    return 0


async def relay_throughput(
    engine: Any, sessions: Any, outbox: Outbox, tables: Any, infra: BenchInfra
) -> float:
    for start in range(0, N_THROUGHPUT, 1000):
        async with sessions.begin() as session:
            await outbox.add_many(
                session,
                [BenchEventV1(seq=i, sent_at=0.0) for i in range(start, start + 1000)],
            )
    relay = OutboxRelay(
        engine,
        tables.outbox,
        RelayConfig(amqp_url=infra.rabbitmq_url, app_id="bench", batch_size=WINDOW),
    )
    t = tables.outbox
    started = time.perf_counter()
    await relay.start()
    try:
        while relay.published_total < N_THROUGHPUT:  # noqa: ASYNC110 - a counter, 5 ms resolution
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
    finally:
        await relay.stop()
    async with engine.connect() as conn:
        pending = await conn.scalar(select(func.count()).where(t.c.sent_at.is_(None)))
    assert pending == 0, f"{pending} outbox rows not sent"
    return N_THROUGHPUT / elapsed


async def latency(
    engine: Any, sessions: Any, outbox: Outbox, tables: Any, infra: BenchInfra
) -> list[float]:
    committed_at: dict[int, float] = {}
    received_at: dict[int, float] = {}
    done = asyncio.Event()
    subs: Subscriptions[None] = Subscriptions()

    @subs.subscribe("bench.latency", events=[BenchEventV1])
    async def on_event(delivery: Delivery[None]) -> None:
        received_at[int(delivery.envelope.data["seq"])] = time.perf_counter()
        if len(received_at) >= LATENCY_N:
            done.set()

    settings = MessagingSettings(
        rabbitmq_url=infra.rabbitmq_url,
        service_name="bench",
        retry_tiers=["5s"],
        retry_default_schedule=["5s"],
        default_prefetch=50,
    )
    runtime = ConsumerRuntime(settings, subs.items, deps=None)
    amqp = await aio_pika.connect(infra.rabbitmq_url)
    await declare_topology(amqp, tiers=parse_tiers(["5s"]), queues=runtime.work_queues())
    await amqp.close()
    await runtime.start()
    relay = OutboxRelay(
        engine,
        tables.outbox,
        RelayConfig(amqp_url=infra.rabbitmq_url, app_id="bench", poll_seconds=1.0),
    )
    await relay.start()
    try:
        interval = 1.0 / LATENCY_RATE
        next_at = time.perf_counter()
        for i in range(LATENCY_N):
            async with sessions.begin() as session:
                await outbox.add(session, BenchEventV1(seq=i, sent_at=time.time()))
            committed_at[i] = time.perf_counter()  # the commit returned
            next_at += interval
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        await asyncio.wait_for(done.wait(), timeout=60)
    finally:
        await relay.stop()
        await runtime.stop()
    return [max(0.0, received_at[i] - committed_at[i]) for i in committed_at]


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
