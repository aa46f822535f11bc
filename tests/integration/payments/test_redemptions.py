"""Redemptions: double spend (§6c A), HTTP idempotency (§6c B) and bad input (§6c G)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from payments.deps import Hooks
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.payments_service import (
    BarrierHooks,
    PaymentsClient,
    new_key,
    scalar,
    wallet_state,
)


def assert_problem(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = resp.json()
    assert body["code"] == code, body
    return body


async def redeem_count(db: AsyncEngine, driver: uuid.UUID) -> int:
    return int(
        await scalar(
            db,
            "SELECT count(*) FROM ledger_transactions WHERE kind='redeem' AND actor_id=:d",
            d=str(driver),
        )
    )


async def test_a_redemption_moves_nova_from_driver_to_merchant(
    payments: PaymentsClient, db: AsyncEngine
) -> None:
    driver = await payments.add_driver(100)
    merchant = await payments.add_merchant()
    resp = await payments.redeem(driver, merchant, 30)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["nova"] == 30 and body["balance"] == 70
    assert "idempotent-replayed" not in resp.headers
    assert await payments.balance(driver) == 70
    merchant_balance = await scalar(
        db,
        "SELECT balance FROM ledger_accounts WHERE owner_type='merchant' AND owner_id=:m",
        m=str(merchant),
    )
    assert merchant_balance == 30
    history = await payments.http.get("/v1/wallet/transactions", headers=payments.headers(driver))
    kinds = [item["kind"] for item in history.json()["items"]]
    assert kinds == ["redeem", "grant"]


async def test_concurrent_over_redeem_one_wins(payments: PaymentsClient, db: AsyncEngine) -> None:
    """§6c A1: balance 100, two redeems of 60 meet at a barrier right before posting."""
    driver = await payments.add_driver(100)
    merchant = await payments.add_merchant()
    payments.deps.hooks = BarrierHooks(2)
    results = await asyncio.gather(
        payments.redeem(driver, merchant, 60), payments.redeem(driver, merchant, 60)
    )
    payments.deps.hooks = Hooks()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 409], [r.text for r in results]
    assert_problem(next(r for r in results if r.status_code == 409), 409, "insufficient_funds")
    balance, total, version, versions = await wallet_state(db, driver)
    assert balance == total == 40
    assert versions == list(range(1, version + 1))
    assert await redeem_count(db, driver) == 1


async def test_stampede_of_fifty_redeems(payments: PaymentsClient, db: AsyncEngine) -> None:
    """§6c A2: 50 concurrent redeems of 10 against 100: exactly 10 succeed."""
    driver = await payments.add_driver(100)
    merchant = await payments.add_merchant()
    payments.deps.hooks = BarrierHooks(50)
    results = await asyncio.gather(*(payments.redeem(driver, merchant, 10) for _ in range(50)))
    payments.deps.hooks = Hooks()
    codes = [r.status_code for r in results]
    assert codes.count(201) == 10 and codes.count(409) == 40, codes
    balance, total, version, versions = await wallet_state(db, driver)
    assert balance == total == 0
    assert versions == list(range(1, 12))  # the funding grant, then 10 redeems
    assert version == 11


class HoldAfterClaim(Hooks):
    """Holds the first request that claimed its key until ``release`` is set."""

    def __init__(self) -> None:
        self.claimed = asyncio.Event()
        self.release = asyncio.Event()

    async def after_claim(self, scope: str) -> None:
        self.claimed.set()
        async with asyncio.timeout(60):
            await self.release.wait()


async def test_same_key_in_flight_is_409_in_use_then_replays(
    payments: PaymentsClient, db: AsyncEngine
) -> None:
    """§6c B7 + B9 (in flight): the second request arrives while the first holds the key."""
    driver = await payments.add_driver(100)
    merchant = await payments.add_merchant()
    hold = HoldAfterClaim()
    payments.deps.hooks = hold
    key = new_key()
    first = asyncio.create_task(payments.redeem(driver, merchant, 10, key=key))
    await asyncio.wait_for(hold.claimed.wait(), 10)
    payments.deps.hooks = Hooks()
    second = await payments.redeem(driver, merchant, 10, key=key)
    body = assert_problem(second, 409, "idempotency_key_in_use")
    assert int(second.headers["Retry-After"]) >= 1 and body["retry_after"] >= 1
    changed = await payments.redeem(driver, merchant, 11, key=key)
    assert_problem(changed, 409, "idempotency_key_reused")
    hold.release.set()
    done = await first
    assert done.status_code == 201
    again = await payments.redeem(driver, merchant, 10, key=key)
    assert again.status_code == 201
    assert again.content == done.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await redeem_count(db, driver) == 1
    assert await payments.balance(driver) == 90


async def test_sequential_replay_is_byte_identical_and_writes_nothing(
    payments: PaymentsClient, db: AsyncEngine
) -> None:
    driver = await payments.add_driver(100)
    merchant = await payments.add_merchant()
    key = new_key()
    first = await payments.redeem(driver, merchant, 25, key=key)
    entries = await scalar(db, "SELECT count(*) FROM ledger_entries")
    audits = await scalar(db, "SELECT count(*) FROM audit_log")
    replay = await payments.redeem(driver, merchant, 25, key=key)
    assert replay.status_code == first.status_code == 201
    assert replay.content == first.content
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert await scalar(db, "SELECT count(*) FROM ledger_entries") == entries
    assert await scalar(db, "SELECT count(*) FROM audit_log") == audits


async def test_same_key_different_payload_after_completion_is_409_reused(
    payments: PaymentsClient,
) -> None:
    driver = await payments.add_driver(100)
    merchant = await payments.add_merchant()
    key = new_key()
    first = await payments.redeem(driver, merchant, 25, key=key)
    other = await payments.redeem(driver, merchant, 26, key=key)
    assert_problem(other, 409, "idempotency_key_reused")
    assert await payments.balance(driver) == 75
    replay = await payments.redeem(driver, merchant, 25, key=key)
    assert replay.content == first.content


async def test_semantically_equal_bodies_replay(payments: PaymentsClient) -> None:
    """§6c B10: key order and whitespace do not change the payload hash."""
    driver = await payments.add_driver(100)
    merchant = await payments.add_merchant()
    key = new_key()
    headers = {**payments.headers(driver, key=key), "Content-Type": "application/json"}
    first = await payments.http.post(
        "/v1/wallet/redemptions",
        content=f'{{"merchant_id": "{merchant}", "nova": 10}}',
        headers=headers,
    )
    second = await payments.http.post(
        "/v1/wallet/redemptions",
        content=f'{{ "nova" :10 ,\n "merchant_id":"{str(merchant).upper()}"}}',
        headers=headers,
    )
    assert first.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.content == first.content
    assert await payments.balance(driver) == 90


async def test_keys_are_scoped_per_principal(payments: PaymentsClient) -> None:
    """§6c B11: two drivers using the same key string both execute."""
    merchant = await payments.add_merchant()
    a, b = await payments.add_driver(50), await payments.add_driver(50)
    key = new_key()
    ra = await payments.redeem(a, merchant, 5, key=key)
    rb = await payments.redeem(b, merchant, 5, key=key)
    assert ra.status_code == rb.status_code == 201
    assert "idempotent-replayed" not in rb.headers
    assert await payments.balance(a) == await payments.balance(b) == 45


async def test_a_stored_4xx_replays_after_top_up(payments: PaymentsClient) -> None:
    """§6c B12: insufficient under key K; top up; K still answers the stored 409."""
    driver = await payments.add_driver(5)
    merchant = await payments.add_merchant()
    key = new_key()
    first = await payments.redeem(driver, merchant, 10, key=key)
    assert_problem(first, 409, "insufficient_funds")
    admin = uuid.uuid4()
    grant = await payments.grant(admin, {"driver_id": str(driver), "nova": 100, "reason": "top up"})
    assert grant.status_code == 201, grant.text
    retry = await payments.redeem(driver, merchant, 10, key=key)
    assert retry.status_code == 409 and retry.content == first.content
    assert retry.headers["Idempotent-Replayed"] == "true"
    fresh = await payments.redeem(driver, merchant, 10)
    assert fresh.status_code == 201
    assert await payments.balance(driver) == 95


async def test_a_failed_attempt_releases_its_key(payments: PaymentsClient, db: AsyncEngine) -> None:
    """§6c B13: the work fails after the claim and before commit: nothing stays, a retry runs."""

    class Crash(Hooks):
        async def before_post(self, kind: str) -> None:
            raise ConnectionResetError("simulated crash before commit")

    driver = await payments.add_driver(100)
    merchant = await payments.add_merchant()
    key = new_key()
    payments.deps.hooks = Crash()
    failed = await payments.redeem(driver, merchant, 10, key=key)
    payments.deps.hooks = Hooks()
    assert failed.status_code == 503
    left = await scalar(db, "SELECT count(*) FROM idempotency_keys WHERE key=:k", k=key)
    assert left == 0
    retry = await payments.redeem(driver, merchant, 10, key=key)
    assert retry.status_code == 201
    assert "idempotent-replayed" not in retry.headers
    assert await redeem_count(db, driver) == 1


async def test_an_expired_lease_is_taken_over_once(
    payments: PaymentsClient, db: AsyncEngine
) -> None:
    """§6c B14: a key left in progress by a crashed owner, lease past: a retry executes once."""
    driver = await payments.add_driver(100)
    merchant = await payments.add_merchant()
    key = new_key()
    hold = HoldAfterClaim()
    payments.deps.hooks = hold
    stuck = asyncio.create_task(payments.redeem(driver, merchant, 10, key=key))
    await asyncio.wait_for(hold.claimed.wait(), 10)
    payments.deps.hooks = Hooks()
    async with db.begin() as conn:
        from sqlalchemy import text

        await conn.execute(
            text("UPDATE idempotency_keys SET locked_until = now() - interval '1 s' WHERE key=:k"),
            {"k": key},
        )
    retry = await payments.redeem(driver, merchant, 10, key=key)
    assert retry.status_code == 201
    hold.release.set()
    late = await stuck  # the old owner resumes: its journal reference is the same key id
    assert late.status_code in (201, 409)
    assert await redeem_count(db, driver) == 1
    assert await payments.balance(driver) == 90


@pytest.mark.parametrize(
    "key",
    ["short-key", "x" * 256, "contains space key!", "nön-ascii-key-value", "tab\there-and-more"],
)
async def test_malformed_keys_are_rejected(payments: PaymentsClient, key: str) -> None:
    driver = await payments.add_driver(100)
    merchant = await payments.add_merchant()
    resp = await payments.http.post(
        "/v1/wallet/redemptions",
        json={"merchant_id": str(merchant), "nova": 1},
        headers=[
            (b"Authorization", f"Bearer {payments.token(driver)}".encode()),
            (b"Idempotency-Key", key.encode()),
        ],
    )
    assert_problem(resp, 400, "idempotency_key_invalid")
    assert await payments.balance(driver) == 100


async def test_a_missing_key_is_rejected_outside_local(payments: PaymentsClient) -> None:
    driver = await payments.add_driver(100)
    merchant = await payments.add_merchant()
    resp = await payments.http.post(
        "/v1/wallet/redemptions",
        json={"merchant_id": str(merchant), "nova": 1},
        headers={"Authorization": f"Bearer {payments.token(driver)}"},
    )
    assert_problem(resp, 400, "idempotency_key_required")


@pytest.mark.parametrize("nova", [0, -5, 1.5, 10.0, "10", True, None, 2**63, 10**16, [], {"n": 1}])
async def test_bad_amounts_are_rejected_and_nothing_is_written(
    payments: PaymentsClient, db: AsyncEngine, nova: object
) -> None:
    driver = await payments.add_driver(100)
    merchant = await payments.add_merchant()
    keys_before = await scalar(db, "SELECT count(*) FROM idempotency_keys")
    resp = await payments.redeem(driver, merchant, nova)
    assert_problem(resp, 400, "validation_failed")
    assert await payments.balance(driver) == 100
    assert await scalar(db, "SELECT count(*) FROM idempotency_keys") == keys_before


async def test_unknown_and_inactive_merchants_are_refused(
    payments: PaymentsClient, db: AsyncEngine
) -> None:
    driver = await payments.add_driver(100)
    assert_problem(await payments.redeem(driver, uuid.uuid4(), 5), 404, "merchant_not_found")
    inactive = await payments.add_merchant(active=False)
    assert_problem(await payments.redeem(driver, inactive, 5), 409, "merchant_inactive")
    assert await payments.balance(driver) == 100
    assert await redeem_count(db, driver) == 0


async def test_only_drivers_redeem(payments: PaymentsClient) -> None:
    merchant = await payments.add_merchant()
    resp = await payments.http.post(
        "/v1/wallet/redemptions",
        json={"merchant_id": str(merchant), "nova": 1},
        headers=payments.headers(uuid.uuid4(), "merchant", new_key()),
    )
    assert resp.status_code == 403
    anonymous = await payments.http.get("/v1/wallet")
    assert anonymous.status_code == 401
