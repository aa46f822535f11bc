"""``uv run python -m bench.payments``: one JSON line per scenario (ledger part; the Stripe
part, payouts and billing, is :mod:`bench.payments.payouts` and :mod:`bench.payments.billing`).

1. ``raw_redemption``: raw asyncpg doing the statements of one redemption exactly as the
   service sends them (the same compiled SQL from ``payments``: the merchant check with the key
   claim in one autocommit statement, then one transaction: ``post_journal``, then the key's
   completion with ``audit_append``) at 50 concurrent workers on distinct wallets (the
   baseline, same run).
2. ``service_redemptions``: ``POST /v1/wallet/redemptions`` through the service (uvicorn
   process, real JWT verification, idempotency keys) at 50 concurrent clients on distinct
   wallets: requests/s, p50/p99, the ratio to the baseline (target >= 400/s and >= 0.4x) and
   the service worker's CPU ms per request (from /proc; steady on a busy machine).
3. ``hot_wallet``: 50 concurrent redemptions on one wallet that can pay for 30 of them: all
   settle correctly (30 x 201, 20 x 409, balance exact); total time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from common.direct_sql import keep_session
from payments import audit, idempotency_store, ledger_repository, redemption_store
from payments.audit import AuditRecord
from payments.idempotency_keys import IdempotentRequest, request_hash
from payments.ledger import JournalKind, driver_wallet, merchant_account, transfer
from payments.outcomes import json_outcome

from bench.jwks import free_port, jwks_server
from bench.messaging.isolation import bench_infra
from bench.payments import billing, payouts
from bench.payments.server_cpu import cpu_seconds, profiled
from bench.payments.service import start_service, wait_ready
from bench.report import emit, latency_figures, ratio
from tests.support.jwt_tokens import TestSigningKeys

BENCH = "payments"
ROOT = Path(__file__).resolve().parents[2]
CONCURRENCY = 50
RAW_N = 3000
SERVICE_N = 3000
FUNDING = 1_000_000
REDEMPTIONS = "/v1/wallet/redemptions"


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
    pool = await asyncpg.create_pool(  # released as the service's direct pool releases
        dsn, min_size=CONCURRENCY, max_size=CONCURRENCY, reset=keep_session
    )
    assert pool is not None
    counter = iter(range(RAW_N))
    claim_sql = redemption_store.CLAIM_AT_MERCHANT
    finish_sql = idempotency_store.COMPLETE_AND_AUDIT_DIRECT

    async def one(driver: uuid.UUID, merchant: uuid.UUID, n: int) -> None:
        """The statements of one redemption as the service sends them (the same compiled SQL
        and parameters): the merchant check with the key claim (autocommit), then one
        transaction: ``post_journal``, then the key's completion with ``audit_append``."""
        key = f"raw-{driver}-{n}"
        body = {"merchant_id": str(merchant), "nova": 1}
        request = IdempotentRequest(
            scope=f"POST {REDEMPTIONS}",
            principal_id=str(driver),
            key=key,
            method="POST",
            path=REDEMPTIONS,
            body_hash=request_hash("POST", f"POST {REDEMPTIONS}", body),
        )
        claim = {
            **idempotency_store.claim_params(
                request, lease=timedelta(seconds=30), retention=timedelta(hours=24)
            ),
            "merchant_id": merchant,
        }
        async with pool.acquire() as conn:
            claimed = await conn.fetchrow(claim_sql.sql, *claim_sql.arguments(claim))
            assert claimed is not None and claimed["key_id"] is not None
            key_id = int(claimed["key_id"])
            journal = transfer(
                JournalKind.REDEEM,
                f"redeem:key:{key_id}",
                source=driver_wallet(driver),
                destination=merchant_account(merchant),
                amount=1,
                actor_type="driver",
                actor_id=str(driver),
                metadata={"merchant_id": str(merchant)},
            )
            post_sql = ledger_repository.post_statement(journal)
            async with conn.transaction():
                row = await conn.fetchrow(
                    post_sql.sql, *post_sql.arguments(ledger_repository.post_params(journal))
                )
                assert row is not None and row["status"] == "posted"
                balance = row["balances"][0]
                record = AuditRecord(
                    actor_type="driver",
                    actor_id=str(driver),
                    action="wallet.redeem",
                    resource_type="ledger_transaction",
                    resource_id=str(row["transaction_id"]),
                    idempotency_key=key,
                    details={
                        "merchant_id": str(merchant),
                        "nova": 1,
                        "wallet_balance_before": balance + 1,
                        "wallet_balance_after": balance,
                    },
                )
                response = json_outcome(
                    201,
                    {
                        "redemption_id": str(row["transaction_id"]),
                        "merchant_id": str(merchant),
                        "nova": 1,
                        "balance": balance,
                    },
                )
                params = {
                    **idempotency_store.complete_params(key_id, response),
                    **audit.append_params(record),
                }
                completed = await conn.fetchrow(finish_sql.sql, *finish_sql.arguments(params))
                assert completed is not None and completed["id"] == key_id

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


# The service needs a Stripe client to start; redemptions never call it.
REDEMPTION_SETTINGS = {
    "STRIPE_SECRET_KEY": "sk_test_bench_redemptions_never_call_stripe",
    "STRIPE_API_BASE": "http://127.0.0.1:9",
    "STRIPE_WEBHOOK_SECRETS": '["whsec_bench_redemptions"]',
}


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
    profile: str | None = None,
) -> None:
    keys = TestSigningKeys()
    jwks = contextlib.AsyncExitStack()  # the JWKS endpoint, closed last
    jwks_url = await jwks.enter_async_context(jwks_server(keys))
    port = free_port()
    process = start_service(infra, jwks_url, port, REDEMPTION_SETTINGS)
    base = f"http://127.0.0.1:{port}"
    tokens = [keys.mint(sub=str(d), role="driver", exp=int(time.time()) + 3600) for d in drivers]
    try:
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:
            await wait_ready(session, base)
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

            cpu_before = cpu_seconds(process.pid)
            started = time.perf_counter()
            with profiled(process.pid, profile):
                await asyncio.gather(*(client(i) for i in range(CONCURRENCY)))
            elapsed = time.perf_counter() - started
            cpu_used = cpu_seconds(process.pid) - cpu_before
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
                server_cpu_ms_per_request=round(cpu_used * 1000 / SERVICE_N, 3),
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
        await jwks.aclose()


async def main(args: argparse.Namespace) -> None:
    async with bench_infra() as infra:
        await asyncio.to_thread(_migrate, infra.database_url)
        if args.only == "payouts":
            await payouts.run(infra, args.profile)
            return
        if args.only == "billing":
            await billing.run(infra)
            return
        dsn = infra.database_url.replace("postgresql+asyncpg", "postgresql")
        raw_drivers = [uuid.uuid4() for _ in range(CONCURRENCY)]
        drivers = [uuid.uuid4() for _ in range(CONCURRENCY)]
        merchants = [uuid.uuid4() for _ in range(CONCURRENCY)]
        hot = uuid.uuid4()
        await _seed(dsn, raw_drivers + drivers, merchants, FUNDING)
        await _seed(dsn, [hot], [], 300)
        baseline = await raw_redemption(dsn, raw_drivers, merchants)
        await service_scenarios(infra, drivers, merchants, hot, baseline, args.profile)
        # billing before payouts: the hanging-Stripe payouts leave commands in the retry tiers
        # that a later service process of the same run would execute (and count as its CPU)
        await billing.run(infra)
        await payouts.run(infra)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--only",
        choices=["payouts", "billing"],
        help="run only this part (the Stripe part: bench.payments.payouts, bench.payments.billing)",
    )
    parser.add_argument(
        "--profile",
        help="write py-spy collapsed stacks of scenario 2 here (with --only payouts: of the"
        " hanging-Stripe payout scenario)",
    )
    asyncio.run(main(parser.parse_args()))
