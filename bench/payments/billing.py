"""The billing part of ``bench.payments``: the merchant charges per second the billing worker
completes against a healthy fake Stripe.

``session.completed.v1`` events are published on RabbitMQ as sessions publishes them, for
merchants whose payment method is on file (set through the admin API, which creates each
Stripe customer). The payments service (a uvicorn process with its consumers, relay and worker)
records each charge with the event, relays its ``payments.billing.charge`` command and confirms
one PaymentIntent per charge off-session through the real SDK. Timed: from the first publish to
the last charge ``succeeded`` in the service's table; reported with the service process's CPU
ms per charge, and checked: one PaymentIntent per billing event, none twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import aio_pika
import aiohttp
import asyncpg
from messaging.envelope import Envelope
from messaging.topology import EVENTS_EXCHANGE
from sessions.contracts import SessionCompletedV1

from bench.jwks import free_port, jwks_server
from bench.payments.server_cpu import cpu_seconds
from bench.payments.service import start_service, wait_ready
from bench.report import emit
from tests.fakes.core.server import start
from tests.fakes.stripe.app import build_app
from tests.fakes.stripe.config import StripeFakeConfig
from tests.fakes.stripe.control import StripeControl
from tests.support.jwt_tokens import TestSigningKeys

BENCH = "payments"
MERCHANTS = 20
WARMUP = 40
CHARGES = 600
AMOUNT_MINOR = 250


def stripe_settings(stripe: StripeControl) -> dict[str, str]:
    return {
        "STRIPE_SECRET_KEY": stripe.api_key,
        "STRIPE_API_BASE": stripe.url,
        "STRIPE_WEBHOOK_SECRETS": f'["{stripe.webhook_secret}"]',
        "PAYOUT_RECONCILE_INTERVAL_SECONDS": "3600",
    }


async def _merchants(dsn: str, count: int) -> list[uuid.UUID]:
    """``count`` merchants in payments' projection (as ``merchant.created.v1`` leaves them)."""
    merchants = [uuid.uuid4() for _ in range(count)]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany(
            "INSERT INTO payments.merchants (merchant_id, owner_user_id, name,"
            " billing_amount_minor, currency, reward_nova, active, source_occurred_at)"
            " VALUES ($1, $2, $3, $4, 'usd', 0, true, now())",
            [
                (m, uuid.uuid4(), f"Bench merchant {i}", AMOUNT_MINOR)
                for i, m in enumerate(merchants)
            ],
        )
    finally:
        await conn.close()
    return merchants


async def _put_billing(
    session: aiohttp.ClientSession, base: str, admin_token: str, merchant: uuid.UUID
) -> None:
    async with session.put(
        f"{base}/v1/admin/merchants/{merchant}/billing",
        json={"payment_method_id": "pm_card_visa"},
        headers={"Authorization": f"Bearer {admin_token}"},
    ) as resp:
        if resp.status != 200:
            raise RuntimeError(f"billing setup answered {resp.status}: {await resp.text()}")


def _completed(merchants: list[uuid.UUID], count: int) -> list[SessionCompletedV1]:
    now = datetime.now(UTC)
    return [
        SessionCompletedV1(
            session_id=uuid.uuid4(),
            driver_id=uuid.uuid4(),
            merchant_id=merchants[i % len(merchants)],
            billing_event_id=uuid.uuid4(),
            amount_minor=AMOUNT_MINOR,
            currency="usd",
            reward_nova=0,
            confirmed_via="sms",
            completed_at=now,
        )
        for i in range(count)
    ]


async def _publish(channel: aio_pika.abc.AbstractChannel, events: list[SessionCompletedV1]) -> None:
    exchange = await channel.get_exchange(EVENTS_EXCHANGE, ensure=False)
    for event in events:
        envelope = Envelope(
            type=event.message_type, producer="sessions", data=event.model_dump(mode="json")
        )
        await exchange.publish(
            aio_pika.Message(
                envelope.to_bytes(),
                message_id=str(envelope.message_id),
                type=envelope.type,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=envelope.type,
        )


async def _settled(dsn: str, events: list[SessionCompletedV1], limit_s: float) -> float:
    """Seconds until every event's charge is ``succeeded`` (polled every 50 ms)."""
    ids = [e.billing_event_id for e in events]
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        async with asyncio.timeout(limit_s):
            while True:
                done = await conn.fetchval(
                    "SELECT count(*) FROM payments.billing_charges"
                    " WHERE status = 'succeeded' AND billing_event_id = ANY($1::uuid[])",
                    ids,
                )
                if done == len(ids):
                    return time.perf_counter() - started
                await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def _intents_per_event(stripe: StripeControl, events: list[SessionCompletedV1]) -> int:
    """The most PaymentIntents any one of ``events`` got (1 when nothing was charged twice)."""
    wanted = {str(e.billing_event_id) for e in events}
    counts: dict[str, int] = {}
    for intent in await stripe.payment_intents():
        billing_event = intent.get("metadata", {}).get("billing_event_id")
        if billing_event in wanted:
            counts[billing_event] = counts.get(billing_event, 0) + 1
    missing = wanted - counts.keys()
    if missing:
        raise RuntimeError(f"{len(missing)} billing events have no PaymentIntent")
    return max(counts.values())


async def run(infra: Any) -> None:
    """The billing scenario against its own service process (the database is migrated)."""
    dsn = infra.database_url.replace("postgresql+asyncpg", "postgresql")
    config = StripeFakeConfig()
    fake = await start(build_app(config))
    keys = TestSigningKeys()
    jwks = contextlib.AsyncExitStack()  # the JWKS endpoint, closed last
    jwks_url = await jwks.enter_async_context(jwks_server(keys))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    admin = keys.mint(sub=str(uuid.uuid4()), role="admin", exp=int(time.time()) + 3600)
    amqp = await aio_pika.connect(infra.rabbitmq_url)
    async with aiohttp.ClientSession() as session:
        stripe = StripeControl(fake.url, session, config)
        await stripe.configure(**config.to_json())
        merchants = await _merchants(dsn, MERCHANTS)
        process = start_service(infra, jwks_url, port, stripe_settings(stripe))
        try:
            await wait_ready(session, base)
            for merchant in merchants:
                await _put_billing(session, base, admin, merchant)
            channel = await amqp.channel()
            warmup = _completed(merchants, WARMUP)
            await _publish(channel, warmup)
            await _settled(dsn, warmup, limit_s=120)
            events = _completed(merchants, CHARGES)
            cpu_before = cpu_seconds(process.pid)
            started = time.perf_counter()
            await _publish(channel, events)
            await _settled(dsn, events, limit_s=600)
            elapsed = time.perf_counter() - started
            cpu_used = cpu_seconds(process.pid) - cpu_before
            emit(
                BENCH,
                "billing_charges_healthy_stripe",
                charges=CHARGES,
                merchants=MERCHANTS,
                per_second=round(CHARGES / elapsed, 1),
                seconds=round(elapsed, 3),
                server_cpu_ms_per_charge=round(cpu_used * 1000 / CHARGES, 3),
                most_payment_intents_per_event=await _intents_per_event(stripe, events),
            )
        finally:
            process.terminate()
            process.wait(timeout=60)
            await amqp.close()
            await stripe.reset()
            await jwks.aclose()
            await fake.close()
