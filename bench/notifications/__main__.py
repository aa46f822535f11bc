"""``uv run python -m bench.notifications``: one JSON line per scenario, in one run.

1. ``raw_sdk``: the real twilio SDK (async, ``common.twilio_transport``) sending to the fake
   Twilio as fast as it can, 64 in flight (the baseline, measured in this run).
2. ``service_end_to_end``: ``notifications.sms.send`` commands published on RabbitMQ, consumed by
   the service (delivery row, attempt, Twilio call, outcome + outbox), until the fake received
   every one: messages/s and the ratio to ``raw_sdk`` (targets >= 500/s, >= 0.5x).
3. ``fresh_latency_alone`` / ``fresh_latency_in_retry_storm``: fresh SMS at a steady rate,
   latency from publish to Twilio's answer (the attempt's ``finished_at``), p50/p99; alone, and
   while 1,000 messages cycle through the retry tiers (the fake answers them 503: each retry
   looks the earlier attempt up, then sends again). Target: p50 up by at most 10 %.
The fake Twilio runs as its own process; the service runs in this one.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from datetime import datetime
from typing import Any

import aio_pika
from asgi_lifespan import LifespanManager
from common.twilio_transport import twilio_http_client
from messaging.envelope import Envelope
from messaging.topology import COMMANDS_EXCHANGE
from notifications import tables
from notifications.main import create_app
from notifications.settings import SEND_QUEUE, NotificationsSettings
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine
from twilio.rest import Client

from bench.messaging.isolation import BenchInfra
from bench.notifications.stack import fake_twilio_process, scratch
from bench.report import emit, latency_figures, ratio
from tests.fakes.twilio.control import TwilioControl
from tests.support.polling import eventually, truthy

BENCH = "notifications"
N_THROUGHPUT = 3_000
IN_FLIGHT = 64
WINDOW = 500
FRESH_RATE = 50  # per second
FRESH_N = 400
STORM_N = 1_000
STORM_PHONE = "+19995550100"
STORM_TIERS = ["5s"] * 6  # the first tier of the SMS schedule, kept for the whole measurement


def phone(i: int) -> str:
    return f"+1415{i % 10_000_000:07d}"


async def raw_sdk(fake: TwilioControl) -> float:
    transport = twilio_http_client(fake.url, timeout=10)
    client = Client(fake.account_sid, fake.auth_token, fake.account_sid, http_client=transport)
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def one(i: int) -> None:
        async with slots:
            await client.messages.create_async(
                to=phone(i),
                body=f"Nerava: a driver has arrived. Reply DONE 4821. Ref RAW{i:05d}",
                messaging_service_sid=fake.config.messaging_service_sid,
                status_callback="http://127.0.0.1:9/v1/webhooks/twilio/status?d=x&n=1",
            )

    try:
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(N_THROUGHPUT)))
        return N_THROUGHPUT / (time.perf_counter() - started)
    finally:
        await transport.close()


def settings(infra: BenchInfra, fake: TwilioControl) -> NotificationsSettings:
    return NotificationsSettings(
        env="test",
        log_level="WARNING",
        database_url=infra.database_url,
        db_pool_size=12,
        rabbitmq_url=infra.rabbitmq_url,
        sms_sender="twilio",
        twilio_account_sid=fake.account_sid,
        twilio_auth_token=fake.auth_token,
        twilio_messaging_service_sid=fake.config.messaging_service_sid,
        twilio_api_base=fake.url,
        public_base_url="http://127.0.0.1:9",
        retry_tiers=["5s"],
        retry_default_schedule=["5s"],
        retry_schedules={SEND_QUEUE: STORM_TIERS},
    )


def command(to: str, i: int, tag: str) -> Envelope:
    return Envelope(
        type="notifications.sms.send.v1",
        producer="bench",
        data={
            "delivery_key": f"{tag}:{i}:{uuid.uuid4().hex[:8]}",
            "to": to,
            "template": "merchant_arrival",
            "params": {"merchant_name": "Volta Coffee", "offer_title": "an espresso"},
            "reference": {"kind": "session", "id": str(uuid.uuid4())},
            "reply_code": f"{i % 10_000:04d}",
        },
    )


async def publish(channel: aio_pika.abc.AbstractChannel, envelopes: list[Envelope]) -> list[float]:
    """Publishes with confirms, pipelined in windows (as sessions' outbox relay does)."""
    exchange = await channel.get_exchange(COMMANDS_EXCHANGE, ensure=False)
    sent_at = []
    for start in range(0, len(envelopes), WINDOW):
        window = envelopes[start : start + WINDOW]
        sent_at.extend(time.time() for _ in window)
        await asyncio.gather(
            *(
                exchange.publish(
                    aio_pika.Message(
                        envelope.to_bytes(),
                        message_id=str(envelope.message_id),
                        type=envelope.type,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        content_type="application/json",
                    ),
                    routing_key=envelope.type,
                    mandatory=True,
                )
                for envelope in window
            )
        )
    return sent_at


async def until_calls(fake: TwilioControl, n: int, limit_s: float = 300) -> None:
    async def received() -> bool:
        return await fake.calls("messages.create") >= n

    await eventually(truthy(received), what="the fake to receive every SMS", timeout=limit_s)


async def fresh_latencies(
    infra: BenchInfra, channel: aio_pika.abc.AbstractChannel, tag: str
) -> list[float]:
    envelopes = [command(phone(500_000 + i), i, tag) for i in range(FRESH_N)]
    sent: dict[str, float] = {}
    origin = time.perf_counter()
    for i, envelope in enumerate(envelopes):
        [at] = await publish(channel, [envelope])
        sent[str(envelope.data["delivery_key"])] = at
        delay = i / FRESH_RATE - (time.perf_counter() - origin)
        if delay > 0:
            await asyncio.sleep(delay)  # a steady rate, not a burst
    engine = create_async_engine(infra.database_url)
    d, a = tables.sms_deliveries, tables.sms_attempts
    rows: list[Any] = []

    async def all_accepted() -> bool:
        async with engine.connect() as conn:
            rows[:] = list(
                await conn.execute(
                    select(d.c.delivery_key, a.c.finished_at)
                    .join(a, a.c.delivery_id == d.c.id)
                    .where(d.c.delivery_key.like(f"{tag}:%"), a.c.outcome == "accepted")
                )
            )
        return len(rows) >= FRESH_N

    try:
        await eventually(
            truthy(all_accepted), what="every send accepted", timeout=120, interval=0.2
        )
    finally:
        await engine.dispose()
    return [
        finished.timestamp() - sent[key] for key, finished in rows if isinstance(finished, datetime)
    ]


async def main() -> int:
    async with scratch() as infra, fake_twilio_process() as fake:
        baseline = raw_sdk_rate = await raw_sdk(fake)
        emit(
            BENCH,
            "raw_sdk",
            messages=N_THROUGHPUT,
            in_flight=IN_FLIGHT,
            msg_per_s=round(baseline, 1),
        )
        await fake.reset()
        await fake.configure(callback_delay_seconds=3600)

        app = create_app(settings(infra, fake))
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
            connection = await aio_pika.connect(infra.rabbitmq_url)
            channel = await connection.channel(publisher_confirms=True)
            try:
                envelopes = [command(phone(i), i, "tput") for i in range(N_THROUGHPUT)]
                started = time.perf_counter()
                await publish(channel, envelopes)
                await until_calls(fake, N_THROUGHPUT)
                rate = N_THROUGHPUT / (time.perf_counter() - started)
                emit(
                    BENCH,
                    "service_end_to_end",
                    messages=N_THROUGHPUT,
                    prefetch=12,
                    msg_per_s=round(rate, 1),
                    ratio_to_raw_sdk=ratio(rate, raw_sdk_rate),
                )

                alone = await fresh_latencies(infra, channel, "alone")
                alone_figures = latency_figures(alone)
                emit(
                    BENCH,
                    "fresh_latency_alone",
                    rate_per_s=FRESH_RATE,
                    samples=len(alone),
                    **alone_figures,
                )

                await fake.add_fault(
                    kind="error",
                    endpoint="messages.create",
                    status=503,
                    times=None,
                    match={"To": STORM_PHONE},
                )
                storm = [command(STORM_PHONE, i, "storm") for i in range(STORM_N)]
                await publish(channel, storm)
                await asyncio.sleep(6)  # the storm has gone through the tier once
                during = await fresh_latencies(infra, channel, "storm-fresh")
                during_figures = latency_figures(during)
                emit(
                    BENCH,
                    "fresh_latency_in_retry_storm",
                    rate_per_s=FRESH_RATE,
                    samples=len(during),
                    storm_messages=STORM_N,
                    storm_tiers=STORM_TIERS,
                    p50_increase_pct=round(
                        (during_figures["p50_ms"] / alone_figures["p50_ms"] - 1) * 100, 1
                    )
                    if alone_figures["p50_ms"]
                    else None,
                    **during_figures,
                )
                await fake.clear_faults()
            finally:
                await connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
