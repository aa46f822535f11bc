"""The Stripe part of ``bench.payments``: ``POST /v1/payouts`` while Stripe is healthy and while
it hangs every call for 30 s (one JSON line per scenario, then the verdict).

The payments service runs as a uvicorn process with its worker and relay, pointed at the fake
Stripe of ``tests/fakes/stripe`` (in this process, through the real SDK). 20 concurrent clients
post payouts for distinct drivers (one open payout per driver), each with an onboarded Express
account and Nova. Only the 202s are timed: phase 1 is one transaction and never awaits Stripe,
so the hanging Stripe (the worker's calls time out and the payouts go ``unknown``) must not
move the request path. Targets: p99 <= 250 ms while Stripe hangs, and within 1.1x of the
healthy p99 (same run). Each scenario also reports the service process's CPU ms per request
(its worker's phases 2 and 3 included), which a busy machine does not move much.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.jwks import free_port, jwks_server
from bench.payments.billing import stripe_settings
from bench.payments.server_cpu import cpu_seconds, profiled
from bench.payments.service import start_service, wait_ready
from bench.report import emit, latency_figures, ratio
from tests.fakes.core.server import start
from tests.fakes.stripe.app import build_app
from tests.fakes.stripe.config import StripeFakeConfig
from tests.fakes.stripe.control import StripeControl
from tests.support.jwt_tokens import TestSigningKeys

BENCH = "payments"
ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 20
PER_SCENARIO = 400
WARMUP = 40
NOVA = 100
TARGET_HANG_P99_MS = 250.0
TARGET_RATIO = 1.1


async def _drivers(dsn: str, stripe: StripeControl, count: int) -> list[uuid.UUID]:
    """``count`` drivers with Nova and an onboarded connected account each."""
    drivers = [uuid.uuid4() for _ in range(count)]
    accounts = [(await stripe.create_account(ready=True))["id"] for _ in drivers]
    conn = await asyncpg.connect(dsn)
    try:
        for driver, account in zip(drivers, accounts, strict=True):
            await conn.execute(
                "SELECT status FROM payments.post_journal('grant', $1, 'bench', 'seed', '{}',"
                " ARRAY[payments.ledger_account('system','platform','grants',true),"
                "       payments.ledger_account('driver', $2, 'wallet')], ARRAY[$3, $4]::bigint[])",
                f"bench-payout-seed:{driver}",
                str(driver),
                -NOVA * 10,
                NOVA * 10,
            )
            await conn.execute(
                "INSERT INTO payments.payout_accounts (driver_id, stripe_account_id,"
                " payouts_enabled) VALUES ($1, $2, true)",
                driver,
                account,
            )
    finally:
        await conn.close()
    return drivers


async def _post(session: aiohttp.ClientSession, base: str, token: str) -> tuple[int, float]:
    started = time.perf_counter()
    async with session.post(
        f"{base}/v1/payouts",
        json={"nova": NOVA},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"bench-{uuid.uuid4()}"},
    ) as resp:
        await resp.read()
        return resp.status, time.perf_counter() - started


async def _scenario(
    session: aiohttp.ClientSession, base: str, tokens: list[str]
) -> tuple[list[float], int]:
    queue = iter(tokens)
    samples: list[float] = []
    failures = 0

    async def client() -> None:
        nonlocal failures
        for token in queue:
            status, took = await _post(session, base, token)
            if status == 202:
                samples.append(took)
            else:
                failures += 1

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return samples, failures


async def run(infra: Any, profile: str | None = None) -> None:
    """Both payout scenarios against one service process (the database is migrated);
    ``profile``: py-spy stacks of the hanging-Stripe scenario are written there."""
    dsn = infra.database_url.replace("postgresql+asyncpg", "postgresql")
    config = StripeFakeConfig()
    fake = await start(build_app(config))
    keys = TestSigningKeys()
    jwks = contextlib.AsyncExitStack()  # the JWKS endpoint, closed last
    jwks_url = await jwks.enter_async_context(jwks_server(keys))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as admin:
        stripe = StripeControl(fake.url, admin, config)
        await stripe.configure(**config.to_json())
        drivers = await _drivers(dsn, stripe, WARMUP + 2 * PER_SCENARIO)
        tokens = [
            keys.mint(sub=str(d), role="driver", exp=int(time.time()) + 3600) for d in drivers
        ]
        process = start_service(infra, jwks_url, port, stripe_settings(stripe))
        try:
            connector = aiohttp.TCPConnector(limit=CLIENTS)
            async with aiohttp.ClientSession(connector=connector) as session:
                await wait_ready(session, base)
                await _scenario(session, base, tokens[:WARMUP])
                figures: dict[str, dict[str, float]] = {}
                for name, batch in (
                    ("payout_post_healthy_stripe", tokens[WARMUP : WARMUP + PER_SCENARIO]),
                    ("payout_post_hanging_stripe", tokens[WARMUP + PER_SCENARIO :]),
                ):
                    stripe_hangs = name.endswith("hanging_stripe")
                    if stripe_hangs:
                        await stripe.hang("*", seconds=30.0, times=None)
                    cpu_before = cpu_seconds(process.pid)
                    started = time.perf_counter()
                    with profiled(process.pid, profile if stripe_hangs else None):
                        samples, failures = await _scenario(session, base, batch)
                    elapsed = time.perf_counter() - started
                    cpu_used = cpu_seconds(process.pid) - cpu_before
                    figures[name] = latency_figures(samples)
                    emit(
                        BENCH,
                        name,
                        requests=len(batch),
                        concurrency=CLIENTS,
                        accepted=len(samples),
                        failures=failures,
                        per_second=round(len(batch) / elapsed, 1),
                        stripe_calls_in_flight=await stripe.in_flight(),
                        server_cpu_ms_per_request=round(cpu_used * 1000 / len(batch), 3),
                        **figures[name],
                    )
                healthy = figures["payout_post_healthy_stripe"]["p99_ms"]
                hanging = figures["payout_post_hanging_stripe"]["p99_ms"]
                emit(
                    BENCH,
                    "payout_post_verdict",
                    hanging_p99_ms=hanging,
                    healthy_p99_ms=healthy,
                    hanging_to_healthy_p99=ratio(hanging, healthy),
                    target_hanging_p99_ms=TARGET_HANG_P99_MS,
                    target_ratio=TARGET_RATIO,
                    p99_target_met=hanging <= TARGET_HANG_P99_MS,
                    ratio_target_met=hanging <= healthy * TARGET_RATIO,
                )
        finally:
            process.terminate()
            process.wait(timeout=60)
            await stripe.reset()
            await jwks.aclose()
            await fake.close()
