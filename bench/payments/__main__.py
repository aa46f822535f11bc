"""``uv run python -m bench.payments``: one JSON line per scenario (ledger part; the Stripe
part, payouts, is :mod:`bench.payments.payouts`).

1. ``raw_redemption``: a raw asyncpg transaction doing the statements of one redemption (key
   claim, merchant read, ``post_journal``, ``audit_append``, key completion) at 50 concurrent
   workers on distinct wallets (the baseline, same run).
2. ``service_redemptions``: ``POST /v1/wallet/redemptions`` through the service (uvicorn
   process, real JWT verification, idempotency keys) at 50 concurrent clients on distinct
   wallets: requests/s, p50/p99 and the ratio to the baseline (target >= 400/s and >= 0.4x).
3. ``hot_wallet``: 50 concurrent redemptions on one wallet that can pay for 30 of them: all
   settle correctly (30 x 201, 20 x 409, balance exact); total time.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web

from bench.messaging.isolation import bench_infra
from bench.payments import payouts
from bench.report import emit, latency_figures, ratio
from tests.support.jwt_tokens import TestSigningKeys

BENCH = "payments"
ROOT = Path(__file__).resolve().parents[2]
CONCURRENCY = 50
RAW_N = 3000
SERVICE_N = 3000
FUNDING = 1_000_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _migrate(database_url: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "alembic",
            "-c",
            str(ROOT / "services/payments/alembic.ini"),
            "-x",
            f"database_url={database_url}",
            "upgrade",
            "head",
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )


async def _seed(dsn: str, drivers: list[uuid.UUID], merchants: list[uuid.UUID], nova: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for merchant in merchants:
            await conn.execute(
                "INSERT INTO payments.merchants (merchant_id, owner_user_id, name,"
                " billing_amount_minor, currency, reward_nova, active, source_occurred_at)"
                " VALUES ($1, $2, 'bench', 100, 'usd', 10, true, now())",
                merchant,
                uuid.uuid4(),
            )
        for driver in drivers:
            await conn.execute(
                "SELECT status FROM payments.post_journal('grant', $1, 'bench', 'seed', '{}',"
                " ARRAY[payments.ledger_account('system','platform','grants',true),"
                "       payments.ledger_account('driver', $2, 'wallet')], ARRAY[$3, $4]::bigint[])",
                f"bench-seed:{driver}",
                str(driver),
                -nova,
                nova,
            )
    finally:
        await conn.close()


async def raw_redemption(dsn: str, drivers: list[uuid.UUID], merchants: list[uuid.UUID]) -> float:
    pool = await asyncpg.create_pool(dsn, min_size=CONCURRENCY, max_size=CONCURRENCY)
    assert pool is not None
    counter = iter(range(RAW_N))

    async def one(driver: uuid.UUID, merchant: uuid.UUID, n: int) -> None:
        key = f"raw-{driver}-{n}"
        async with pool.acquire() as conn:
            key_id = await conn.fetchval(
                "INSERT INTO payments.idempotency_keys (scope, principal_id, key, request_method,"
                " request_path, request_hash, locked_until, expires_at) VALUES ('raw', $1, $2,"
                " 'POST', '/r', $3, now() + interval '30 s', now() + interval '24 h')"
                " ON CONFLICT DO NOTHING RETURNING id",
                str(driver),
                key,
                hashlib.sha256(key.encode()).digest(),
            )
            async with conn.transaction():
                await conn.fetchrow(
                    "SELECT * FROM payments.merchants WHERE merchant_id = $1", merchant
                )
                row = await conn.fetchrow(
                    "SELECT status, transaction_id FROM payments.post_journal('redeem', $1,"
                    " 'driver', $2, '{}', ARRAY[payments.ledger_account('driver', $2, 'wallet'),"
                    " payments.ledger_account('merchant', $3, 'nova')], ARRAY[-1, 1]::bigint[])",
                    f"raw:{key_id}",
                    str(driver),
                    str(merchant),
                )
                await conn.execute(
                    "UPDATE payments.idempotency_keys SET state='completed', response_code=201,"
                    " response_body=$2, response_content_type='application/json',"
                    " completed_at=now(), locked_until=NULL WHERE id=$1",
                    key_id,
                    b'{"ok":true}',
                )
                await conn.fetchval(
                    "SELECT payments.audit_append('driver', $1, 'wallet.redeem',"
                    " 'ledger_transaction', $2, NULL, $3, '{}')",
                    str(driver),
                    str(row["transaction_id"]),
                    key,
                )

    async def worker(index: int) -> None:
        for n in counter:
            await one(drivers[index], merchants[index], n)

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    await pool.close()
    rate = RAW_N / elapsed
    emit(
        BENCH,
        "raw_redemption",
        requests=RAW_N,
        concurrency=CONCURRENCY,
        per_second=round(rate, 1),
        seconds=round(elapsed, 3),
    )
    return rate


async def _jwks_server(keys: TestSigningKeys) -> tuple[web.AppRunner, str]:
    app = web.Application()

    async def jwks(_: web.Request) -> web.Response:
        return web.json_response(keys.jwks())

    app.router.add_get("/jwks.json", jwks)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/jwks.json"


def _start_service(infra: Any, jwks_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ENV": "test",
        "DATABASE_URL": infra.database_url,
        "RABBITMQ_URL": infra.rabbitmq_url,
        "REDIS_KEY_PREFIX": f"bench:{uuid.uuid4().hex[:6]}",
        "JWKS_URL": jwks_url,
        "LOG_LEVEL": "WARNING",
        "DB_POOL_SIZE": "40",
        "DB_MAX_OVERFLOW": "10",
        "KILL_SWITCH_CACHE_SECONDS": "2",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "payments.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )


async def _wait_ready(session: aiohttp.ClientSession, base: str) -> None:
    async with asyncio.timeout(60):
        while True:
            try:
                async with session.get(f"{base}/readyz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)


async def _redeem(
    session: aiohttp.ClientSession, base: str, token: str, merchant: uuid.UUID, nova: int
) -> tuple[int, float]:
    started = time.perf_counter()
    async with session.post(
        f"{base}/v1/wallet/redemptions",
        json={"merchant_id": str(merchant), "nova": nova},
        headers={
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": f"bench-{uuid.uuid4().hex}",
        },
    ) as resp:
        await resp.read()
        return resp.status, time.perf_counter() - started


async def service_scenarios(
    infra: Any,
    drivers: list[uuid.UUID],
    merchants: list[uuid.UUID],
    hot: uuid.UUID,
    baseline: float,
) -> None:
    keys = TestSigningKeys()
    runner, jwks_url = await _jwks_server(keys)
    port = _free_port()
    process = _start_service(infra, jwks_url, port)
    base = f"http://127.0.0.1:{port}"
    tokens = [keys.mint(sub=str(d), role="driver", exp=int(time.time()) + 3600) for d in drivers]
    try:
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:
            await _wait_ready(session, base)
            for i in range(CONCURRENCY):  # warm-up: connections, JWKS, caches
                await _redeem(session, base, tokens[i], merchants[i], 1)
            counter = iter(range(SERVICE_N))
            samples: list[float] = []
            failures = 0

            async def client(i: int) -> None:
                nonlocal failures
                for _ in counter:
                    status, took = await _redeem(session, base, tokens[i], merchants[i], 1)
                    samples.append(took)
                    failures += status != 201

            started = time.perf_counter()
            await asyncio.gather(*(client(i) for i in range(CONCURRENCY)))
            elapsed = time.perf_counter() - started
            rate = SERVICE_N / elapsed
            emit(
                BENCH,
                "service_redemptions",
                requests=SERVICE_N,
                concurrency=CONCURRENCY,
                per_second=round(rate, 1),
                failures=failures,
                ratio_to_raw=ratio(rate, baseline),
                target_per_second=400,
                target_ratio=0.4,
                **latency_figures(samples),
            )

            hot_token = keys.mint(sub=str(hot), role="driver", exp=int(time.time()) + 3600)
            started = time.perf_counter()
            results = await asyncio.gather(
                *(_redeem(session, base, hot_token, merchants[0], 10) for _ in range(CONCURRENCY))
            )
            elapsed = time.perf_counter() - started
            async with session.get(
                f"{base}/v1/wallet", headers={"Authorization": f"Bearer {hot_token}"}
            ) as resp:
                balance = (await resp.json())["balance"]
            codes = [status for status, _ in results]
            emit(
                BENCH,
                "hot_wallet",
                requests=CONCURRENCY,
                succeeded=codes.count(201),
                insufficient=codes.count(409),
                other=len(codes) - codes.count(201) - codes.count(409),
                final_balance=balance,
                settled_correctly=codes.count(201) == 30 and balance == 0,
                total_ms=round(elapsed * 1000, 1),
            )
    finally:
        process.terminate()
        process.wait(timeout=30)
        await runner.cleanup()


async def main() -> None:
    async with bench_infra() as infra:
        await asyncio.to_thread(_migrate, infra.database_url)
        dsn = infra.database_url.replace("postgresql+asyncpg", "postgresql")
        raw_drivers = [uuid.uuid4() for _ in range(CONCURRENCY)]
        drivers = [uuid.uuid4() for _ in range(CONCURRENCY)]
        merchants = [uuid.uuid4() for _ in range(CONCURRENCY)]
        hot = uuid.uuid4()
        await _seed(dsn, raw_drivers + drivers, merchants, FUNDING)
        await _seed(dsn, [hot], [], 300)
        baseline = await raw_redemption(dsn, raw_drivers, merchants)
        await service_scenarios(infra, drivers, merchants, hot, baseline)
        await payouts.run(infra)


if __name__ == "__main__":
    asyncio.run(main())
