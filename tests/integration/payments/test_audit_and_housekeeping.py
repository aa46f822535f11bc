"""The audit chain (§6c H53), the verify command, and the idempotency-key reaper."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from payments import audit, housekeeping_handlers
from payments.audit import AuditRecord
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.isolation import RunInfra
from tests.support.migrate import ROOT
from tests.support.payments_service import PaymentsClient, new_key, scalar


async def test_each_movement_writes_one_audit_row_in_its_transaction(
    payments: PaymentsClient, db: AsyncEngine
) -> None:
    driver = await payments.add_driver(100)
    merchant = await payments.add_merchant()
    key = new_key()
    resp = await payments.redeem(driver, merchant, 10, key=key)
    row = await _rows(
        db,
        "SELECT actor_id, action, idempotency_key, request_id, details FROM audit_log"
        " WHERE resource_id = :r",
        r=resp.json()["redemption_id"],
    )
    assert len(row) == 1
    assert row[0].actor_id == str(driver) and row[0].action == "wallet.redeem"
    assert row[0].idempotency_key == key and row[0].request_id == resp.headers["x-request-id"]
    assert row[0].details["wallet_balance_before"] == 100
    assert row[0].details["wallet_balance_after"] == 90
    marker = uuid.uuid4().hex
    try:
        async with payments.deps.uow() as tx:
            await audit.append(tx, AuditRecord("test", marker, "test.rollback", "test", marker))
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert await scalar(db, "SELECT count(*) FROM audit_log WHERE actor_id=:m", m=marker) == 0


async def _rows(db: AsyncEngine, sql: str, **params: object) -> list:  # type: ignore[type-arg]
    async with db.connect() as conn:
        return list(await conn.execute(text(sql), params))


def _verify_command(infra: RunInfra) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ENV": "test", "DATABASE_URL": infra.database_url}
    return subprocess.run(
        [sys.executable, "-m", "payments.manage", "verify-audit"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env=env,
    )


async def test_the_chain_verifies_and_tampering_is_named(
    payments: PaymentsClient, db: AsyncEngine, infra: RunInfra
) -> None:
    driver = await payments.add_driver(100)
    merchant = await payments.add_merchant()
    for _ in range(3):
        assert (await payments.redeem(driver, merchant, 1)).status_code == 201
    intact = _verify_command(infra)
    assert intact.returncode == 0, intact.stderr
    assert '"intact": true' in intact.stdout
    victim = await scalar(db, "SELECT max(id) - 1 FROM audit_log")
    original = await scalar(db, "SELECT details FROM audit_log WHERE id=:i", i=victim)
    # Tamper as a superuser would: bypass the append-only trigger for one statement.
    async with db.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(
            text("UPDATE audit_log SET details = details || '{\"nova\": 999}' WHERE id=:i"),
            {"i": victim},
        )
    try:
        broken = _verify_command(infra)
        assert broken.returncode == 1
        assert f'"first_bad_id": {victim}' in broken.stdout
        assert "does not match its hash" in broken.stdout
    finally:
        async with db.begin() as conn:
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.execute(
                text("UPDATE audit_log SET details = CAST(:d AS jsonb) WHERE id=:i"),
                {"i": victim, "d": __import__("json").dumps(original)},
            )
    assert _verify_command(infra).returncode == 0


async def test_expired_keys_are_reaped_and_live_ones_kept(
    payments: PaymentsClient, db: AsyncEngine
) -> None:
    driver = await payments.add_driver(100)
    merchant = await payments.add_merchant()
    old, fresh = new_key(), new_key()
    await payments.redeem(driver, merchant, 1, key=old)
    await payments.redeem(driver, merchant, 1, key=fresh)
    async with db.begin() as conn:
        await conn.execute(
            text("UPDATE idempotency_keys SET expires_at = now() - interval '1 s' WHERE key=:k"),
            {"k": old},
        )
    deleted = await housekeeping_handlers.reap_idempotency_keys(payments.deps, batch=2)
    assert deleted >= 1
    remaining = await scalar(
        db, "SELECT count(*) FROM idempotency_keys WHERE key = ANY(:k)", k=[old, fresh]
    )
    assert remaining == 1
    # The journal stays deduplicated by its reference after its key is gone.
    assert await payments.balance(driver) == 98
