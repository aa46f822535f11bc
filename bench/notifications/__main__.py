"""``uv run python -m bench.notifications``: one JSON line per scenario, in one run.

1. ``raw_sdk``: the real twilio SDK (async, ``common.twilio_transport``) sending to the fake
   Twilio as fast as it can, 64 in flight (the baseline, measured in this run).
2. ``service_end_to_end``: ``notifications.sms.send`` commands published on RabbitMQ, consumed by
   the service (delivery row, attempt, Twilio call, outcome + outbox), until the fake received
   every one: messages/s and the ratio to ``raw_sdk`` (targets >= 500/s, >= 0.5x).
3. ``fresh_latency_alone`` / ``fresh_latency_in_retry_storm``: fresh SMS at a steady rate,
   latency from publish to Twilio's answer (the attempt's ``finished_at``), p50/p99, and the p50
   of its first part, publish to the attempt's start (``to_attempt_p50_ms``); alone, and
   while 1,000 messages cycle through the retry tiers (the fake answers them 503: each retry
   looks the earlier attempt up, then sends again), measured once every storm message has failed
   its first attempt; then ``fresh_latency_alone_after_storm``, once Twilio accepts again and
   the storm has settled. ``retry_storm_verdict`` compares the storm's p50 with the mean of the
   two quiet ones, before and after (a machine that slows or speeds up during the run moves
   both): target p50 up by at most 10 %.

The fake Twilio and the service each run as their own process (uvicorn, one worker, the
service's default prefetch and pools); every scenario also reports the CPU milliseconds each
process spent per message (``*_cpu_ms_per_msg``, from /proc): on a shared machine the rates
move with the neighbours' load, the CPU per message much less. In ``raw_sdk`` the ``client`` is
this process (the SDK alone); in the storm the service's CPU includes the retries it ran.
``--fresh-rate`` (default 50/s) must stay well below the service's rate on the machine, or both
latency scenarios measure a backlog instead of latency.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aio_pika
from common.twilio_transport import twilio_http_client
from messaging.envelope import Envelope
from messaging.topology import COMMANDS_EXCHANGE
from notifications import tables
from notifications.settings import SEND_QUEUE, NotificationsSettings
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine
from twilio.rest import Client

from bench.messaging.isolation import BenchInfra
from bench.notifications.stack import fake_twilio_process, scratch, service_env, service_process
from bench.proc import CpuMeter
from bench.report import emit, latency_figures, ratio
from tests.fakes.twilio.control import TwilioControl
from tests.support.polling import eventually, truthy

BENCH = "notifications"
IN_FLIGHT = 64
WINDOW = 500
STORM_PHONE = "+19995550100"
STORM_TIERS = ["5s"] * 6
TARGET_STORM_INCREASE_PCT = 10.0
ACCEPT_WAIT_S = 180  # the first tier of the SMS schedule, kept for the whole measurement


@dataclass(frozen=True)
class Plan:
    messages: int = 3_000  # raw SDK and service throughput
    fresh_rate: float = 50.0  # fresh SMS per second in the latency scenarios
    fresh_n: int = 400
    storm_n: int = 1_000
    retry_prefetch: int | None = None  # the service's default unless set


def phone(i: int) -> str:
    return f"+1415{i % 10_000_000:07d}"


async def raw_sdk(fake: TwilioControl, n: int) -> float:
    """Messages per second of the SDK alone, ``IN_FLIGHT`` at a time."""
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
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - started)
    finally:
        await transport.close()


def service_settings(infra: BenchInfra, fake: TwilioControl, plan: Plan) -> dict[str, str]:
    """The service's environment: its defaults, but every retry in the 5 s tier (and the
    plan's retry prefetch, if it sets one)."""
    overrides: dict[str, object] = {}
    if plan.retry_prefetch is not None:
        overrides["queue_retry_prefetch"] = {SEND_QUEUE: plan.retry_prefetch}
    return service_env(
        infra,
        fake,
        retry_tiers=["5s"],
        retry_default_schedule=["5s"],
        retry_schedules={SEND_QUEUE: STORM_TIERS},
        **overrides,
    )


def concurrency(plan: Plan) -> dict[str, int]:
    """The prefetch of the send queue and of its retry queue (figures only)."""
    defaults = NotificationsSettings(env="test", sms_sender=None)
    return {
        "prefetch": defaults.prefetch(SEND_QUEUE),
        "retry_prefetch": plan.retry_prefetch or defaults.retry_prefetch(SEND_QUEUE),
    }


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
    sent_at: list[float] = []
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


async def until_calls(fake: TwilioControl, n: int, limit_s: float = 900) -> None:
    async def received() -> bool:
        return await fake.calls("messages.create") >= n

    await eventually(truthy(received), what="the fake to receive every SMS", timeout=limit_s)


async def storm_settled(infra: BenchInfra, limit_s: float = 180) -> None:
    """Once Twilio accepts again, until no storm delivery is pending (each is sent on its next
    retry, or was dead-lettered before)."""
    engine = create_async_engine(infra.database_url)
    d = tables.sms_deliveries

    async def none_pending() -> bool:
        async with engine.connect() as conn:
            pending = await conn.scalar(
                select(func.count())
                .select_from(d)
                .where(d.c.delivery_key.like("storm:%"), d.c.status == "pending")
            )
        return pending == 0

    try:
        await eventually(
            truthy(none_pending), what="the storm settled", timeout=limit_s, interval=0.5
        )
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Latencies:
    total: list[float]  # publish -> Twilio's answer recorded
    to_attempt: list[float]  # publish -> the attempt started (queue and consume)


async def fresh_latencies(
    infra: BenchInfra, channel: aio_pika.abc.AbstractChannel, tag: str, plan: Plan
) -> Latencies:
    envelopes = [command(phone(500_000 + i), i, tag) for i in range(plan.fresh_n)]
    sent: dict[str, float] = {}
    origin = time.perf_counter()
    for i, envelope in enumerate(envelopes):
        [at] = await publish(channel, [envelope])
        sent[str(envelope.data["delivery_key"])] = at
        delay = i / plan.fresh_rate - (time.perf_counter() - origin)
        if delay > 0:
            await asyncio.sleep(delay)  # a steady rate, not a burst
    engine = create_async_engine(infra.database_url)
    d, a = tables.sms_deliveries, tables.sms_attempts
    rows: list[Any] = []

    async def all_accepted() -> bool:
        async with engine.connect() as conn:
            rows[:] = list(
                await conn.execute(
                    select(d.c.delivery_key, a.c.started_at, a.c.finished_at)
                    .join(a, a.c.delivery_id == d.c.id)
                    .where(d.c.delivery_key.like(f"{tag}:%"), a.c.outcome == "accepted")
                )
            )
        return len(rows) >= plan.fresh_n

    try:
        await eventually(
            truthy(all_accepted), what="every send accepted", timeout=ACCEPT_WAIT_S, interval=0.2
        )
    except AssertionError:
        pass  # reported: the samples are fewer than the messages sent
    finally:
        await engine.dispose()
    done = [(key, started, end) for key, started, end in rows if isinstance(end, datetime)]
    return Latencies(
        total=[end.timestamp() - sent[key] for key, _, end in done],
        to_attempt=[started.timestamp() - sent[key] for key, started, _ in done],
    )


def figures(latencies: Latencies) -> dict[str, Any]:
    """p50/p90/p99/mean of the whole latency, and the p50 of its queue-and-consume part."""
    queued = latency_figures(latencies.to_attempt)
    return {**latency_figures(latencies.total), "to_attempt_p50_ms": queued["p50_ms"]}


async def main(plan: Plan) -> int:
    async with scratch() as infra, fake_twilio_process() as twilio:
        fake = twilio.control
        meter = CpuMeter(client=os.getpid(), fake=twilio.pid)
        raw_sdk_rate = await raw_sdk(fake, plan.messages)
        emit(
            BENCH,
            "raw_sdk",
            messages=plan.messages,
            in_flight=IN_FLIGHT,
            msg_per_s=round(raw_sdk_rate, 1),
            **meter.ms_per(plan.messages),
        )
        await fake.reset()
        await fake.configure(callback_delay_seconds=3600)

        async with service_process(service_settings(infra, fake, plan)) as service:
            connection = await aio_pika.connect(infra.rabbitmq_url)
            channel = await connection.channel(publisher_confirms=True)
            try:
                envelopes = [command(phone(i), i, "tput") for i in range(plan.messages)]
                meter = CpuMeter(service=service.pid, fake=twilio.pid)
                started = time.perf_counter()
                await publish(channel, envelopes)
                await until_calls(fake, plan.messages)
                rate = plan.messages / (time.perf_counter() - started)
                emit(
                    BENCH,
                    "service_end_to_end",
                    messages=plan.messages,
                    **concurrency(plan),
                    msg_per_s=round(rate, 1),
                    ratio_to_raw_sdk=ratio(rate, raw_sdk_rate),
                    **meter.ms_per(plan.messages),
                )

                meter = CpuMeter(service=service.pid)
                alone = await fresh_latencies(infra, channel, "alone", plan)
                alone_figures = figures(alone)
                emit(
                    BENCH,
                    "fresh_latency_alone",
                    rate_per_s=plan.fresh_rate,
                    sent=plan.fresh_n,
                    samples=len(alone.total),
                    **alone_figures,
                    **meter.ms_per(plan.fresh_n),
                )

                await fake.add_fault(
                    kind="error",
                    endpoint="messages.create",
                    status=503,
                    times=None,
                    match={"To": STORM_PHONE},
                )
                creates = await fake.calls("messages.create")
                storm = [command(STORM_PHONE, i, "storm") for i in range(plan.storm_n)]
                await publish(channel, storm)
                # Measure while the storm cycles through the tiers, not behind its first
                # attempts: every storm message has failed once and is in the tier or back.
                await until_calls(fake, creates + plan.storm_n)
                await asyncio.sleep(2)
                lookups = await fake.calls("messages.list")
                meter = CpuMeter(service=service.pid)
                during = await fresh_latencies(infra, channel, "storm-fresh", plan)
                cpu = meter.ms_per(plan.fresh_n)
                retried = await fake.calls("messages.list") - lookups
                during_figures = figures(during)
                emit(
                    BENCH,
                    "fresh_latency_in_retry_storm",
                    rate_per_s=plan.fresh_rate,
                    sent=plan.fresh_n,
                    samples=len(during.total),
                    storm_messages=plan.storm_n,
                    storm_tiers=STORM_TIERS,
                    storm_retries_meanwhile=retried,
                    p50_increase_pct=round(
                        (during_figures["p50_ms"] / alone_figures["p50_ms"] - 1) * 100, 1
                    )
                    if alone_figures["p50_ms"]
                    else None,
                    **during_figures,
                    **cpu,
                )
                await fake.clear_faults()
                await storm_settled(infra)
                meter = CpuMeter(service=service.pid)
                after = await fresh_latencies(infra, channel, "after", plan)
                after_figures = figures(after)
                emit(
                    BENCH,
                    "fresh_latency_alone_after_storm",
                    rate_per_s=plan.fresh_rate,
                    sent=plan.fresh_n,
                    samples=len(after.total),
                    **after_figures,
                    **meter.ms_per(plan.fresh_n),
                )
                baseline = (alone_figures["p50_ms"] + after_figures["p50_ms"]) / 2
                emit(
                    BENCH,
                    "retry_storm_verdict",
                    p50_alone_before_ms=alone_figures["p50_ms"],
                    p50_in_storm_ms=during_figures["p50_ms"],
                    p50_alone_after_ms=after_figures["p50_ms"],
                    p50_increase_pct=round((during_figures["p50_ms"] / baseline - 1) * 100, 1),
                    target_increase_pct=TARGET_STORM_INCREASE_PCT,
                )
            finally:
                await connection.close()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", 1)[0])
    defaults = Plan()
    parser.add_argument("--messages", type=int, default=defaults.messages)
    parser.add_argument(
        "--fresh-rate",
        type=float,
        default=defaults.fresh_rate,
        help="fresh SMS per second; keep it well below the service's rate on this machine",
    )
    parser.add_argument("--fresh", type=int, default=defaults.fresh_n)
    parser.add_argument("--storm", type=int, default=defaults.storm_n)
    parser.add_argument("--retry-prefetch", type=int, help="QUEUE_RETRY_PREFETCH of the sends")
    args = parser.parse_args()
    plan = Plan(args.messages, args.fresh_rate, args.fresh, args.storm, args.retry_prefetch)
    sys.exit(asyncio.run(main(plan)))
