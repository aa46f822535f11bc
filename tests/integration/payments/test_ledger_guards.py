"""The database guards of the ledger, exercised directly in SQL (reference/payments.md §6b).

Whatever the code does, Postgres refuses: an unbalanced or cross-asset journal (at COMMIT),
UPDATE/DELETE/TRUNCATE of entries, journals and audit rows, a negative driver balance, a
second journal with the same business reference, an amount beyond bigint, and a lost update
(two entries with the same account version).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.support.payments_service import scalar


async def _account(
    conn: AsyncConnection, owner: str, purpose: str = "wallet", **kw: object
) -> uuid.UUID:
    owner_type = kw.get("owner_type", "driver")
    allow_negative = kw.get("allow_negative", False)
    result = await conn.execute(
        text("SELECT ledger_account(:t, :o, :p, :n, :a)"),
        {
            "t": owner_type,
            "o": owner,
            "p": purpose,
            "n": allow_negative,
            "a": kw.get("asset", "NOVA"),
        },
    )
    return uuid.UUID(str(result.scalar_one()))


async def _journal(conn: AsyncConnection, ref: str) -> uuid.UUID:
    result = await conn.execute(
        text(
            "INSERT INTO ledger_transactions (kind, external_ref, actor_type, actor_id)"
            " VALUES ('adjustment', :ref, 'test', 'test') RETURNING id"
        ),
        {"ref": ref},
    )
    return uuid.UUID(str(result.scalar_one()))


async def _entry(
    conn: AsyncConnection,
    tx_id: uuid.UUID,
    account: uuid.UUID,
    amount: int,
    version: int,
    asset: str = "NOVA",
) -> None:
    await conn.execute(
        text(
            "INSERT INTO ledger_entries (transaction_id, account_id, asset, amount,"
            " balance_after, account_version) VALUES (:t, :a, :asset, :amt, :amt, :v)"
        ),
        {"t": tx_id, "a": account, "asset": asset, "amt": amount, "v": version},
    )


def _owner() -> str:
    return uuid.uuid4().hex


async def test_an_unbalanced_journal_is_rejected_at_commit(db: AsyncEngine) -> None:
    ref = _owner()
    with pytest.raises(DBAPIError, match="unbalanced ledger transaction"):
        async with db.begin() as conn:
            account = await _account(conn, _owner())
            tx_id = await _journal(conn, ref)
            await _entry(conn, tx_id, account, 5, 1)  # accepted here, refused at COMMIT
    assert (
        await scalar(db, "SELECT count(*) FROM ledger_transactions WHERE external_ref = :r", r=ref)
        == 0
    )


async def test_a_cross_asset_journal_is_rejected_even_when_amounts_cancel(db: AsyncEngine) -> None:
    with pytest.raises(DBAPIError, match="unbalanced ledger transaction"):
        async with db.begin() as conn:
            nova = await _account(
                conn, _owner(), "treasury", owner_type="system", allow_negative=True
            )
            usd = await _account(
                conn, _owner(), "treasury", owner_type="system", allow_negative=True, asset="USD"
            )
            tx_id = await _journal(conn, _owner())
            await _entry(conn, tx_id, nova, -100, 1)
            await _entry(conn, tx_id, usd, 100, 1, asset="USD")


async def test_a_balanced_journal_commits(db: AsyncEngine) -> None:
    async with db.begin() as conn:
        source = await _account(
            conn, _owner(), "treasury", owner_type="system", allow_negative=True
        )
        wallet = await _account(conn, _owner())
        tx_id = await _journal(conn, _owner())
        await _entry(conn, tx_id, source, -7, 1)
        await _entry(conn, tx_id, wallet, 7, 1)
    assert (
        await scalar(
            db, "SELECT sum(amount) FROM ledger_entries WHERE transaction_id = :t", t=tx_id
        )
        == 0
    )


@pytest.mark.parametrize(
    ("table", "statement"),
    [
        (
            "ledger_entries",
            "UPDATE ledger_entries SET amount = amount + 1"
            " WHERE id = (SELECT max(id) FROM ledger_entries)",
        ),
        (
            "ledger_entries",
            "DELETE FROM ledger_entries WHERE id = (SELECT max(id) FROM ledger_entries)",
        ),
        ("ledger_entries", "TRUNCATE ledger_entries CASCADE"),
        (
            "ledger_transactions",
            "UPDATE ledger_transactions SET actor_id = 'x'"
            " WHERE id = (SELECT id FROM ledger_transactions LIMIT 1)",
        ),
        (
            "ledger_transactions",
            "DELETE FROM ledger_transactions"
            " WHERE id = (SELECT id FROM ledger_transactions LIMIT 1)",
        ),
        ("ledger_transactions", "TRUNCATE ledger_transactions CASCADE"),
        (
            "audit_log",
            "UPDATE audit_log SET actor_id = 'x' WHERE id = (SELECT max(id) FROM audit_log)",
        ),
        ("audit_log", "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)"),
        ("audit_log", "TRUNCATE audit_log"),
    ],
)
async def test_history_is_append_only(db: AsyncEngine, table: str, statement: str) -> None:
    async with db.begin() as conn:  # make sure there is a row to touch
        source = await _account(
            conn, _owner(), "treasury", owner_type="system", allow_negative=True
        )
        wallet = await _account(conn, _owner())
        tx_id = await _journal(conn, _owner())
        await _entry(conn, tx_id, source, -1, 1)
        await _entry(conn, tx_id, wallet, 1, 1)
        await conn.execute(text("SELECT audit_append('test','t','test','x','y',NULL,NULL,'{}')"))
    with pytest.raises(DBAPIError, match=f"table {table} is append-only"):
        async with db.begin() as conn:
            await conn.execute(text(statement))


async def test_a_driver_balance_cannot_go_negative(db: AsyncEngine) -> None:
    with pytest.raises(IntegrityError, match="ck_ledger_accounts_balance_non_negative"):
        async with db.begin() as conn:
            wallet = await _account(conn, _owner())
            await conn.execute(
                text("UPDATE ledger_accounts SET balance = balance - 1 WHERE id = :a"),
                {"a": wallet},
            )


async def test_only_system_accounts_may_be_allowed_negative(db: AsyncEngine) -> None:
    with pytest.raises(IntegrityError, match="negative_only_system"):
        async with db.begin() as conn:
            await _account(conn, _owner(), allow_negative=True)


async def test_one_journal_per_business_reference(db: AsyncEngine) -> None:
    ref = _owner()
    async with db.begin() as conn:
        await _journal(conn, ref)
        await conn.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    with pytest.raises(IntegrityError, match="uq_ledger_transactions_kind_ref"):
        async with db.begin() as conn:
            await _journal(conn, ref)


async def test_amounts_beyond_bigint_are_rejected(db: AsyncEngine) -> None:
    with pytest.raises(DBAPIError):
        async with db.begin() as conn:
            source = await _account(
                conn, _owner(), "treasury", owner_type="system", allow_negative=True
            )
            await conn.execute(
                text(
                    "UPDATE ledger_accounts SET balance = balance - 9223372036854775807 - 2"
                    " WHERE id = :a"
                ),
                {"a": source},
            )


async def test_post_journal_refuses_an_overdraft_without_writing(db: AsyncEngine) -> None:
    async with db.begin() as conn:
        result = await conn.execute(
            text(
                "SELECT status, transaction_id FROM post_journal('redeem', :ref, 'test', 't', '{}',"
                " ARRAY[ledger_account('driver', :d, 'wallet'),"
                " ledger_account('merchant', :m, 'nova')],"
                " ARRAY[-5, 5]::bigint[])"
            ),
            {"ref": _owner(), "d": _owner(), "m": _owner()},
        )
        row = result.one()
    assert row.status == "insufficient_funds"
    assert row.transaction_id is None


async def test_a_lost_update_is_caught_by_the_account_version(db: AsyncEngine) -> None:
    """The naive read-then-absolute-write (§6c A4): two writers read version v and both write
    v+1; UNIQUE(account_id, account_version) rejects the second, so the test detects it."""
    async with db.begin() as conn:
        source = await _account(
            conn, _owner(), "treasury", owner_type="system", allow_negative=True
        )
        wallet = await _account(conn, _owner())
        tx_id = await _journal(conn, _owner())
        await _entry(conn, tx_id, source, -100, 1)
        await _entry(conn, tx_id, wallet, 100, 1)
        await conn.execute(
            text("UPDATE ledger_accounts SET balance = 100, version = 1 WHERE id = :w"),
            {"w": wallet},
        )
    barrier = asyncio.Barrier(2)

    async def naive_spend(amount: int) -> str:
        try:
            async with db.begin() as conn:
                row = (
                    await conn.execute(
                        text("SELECT balance, version FROM ledger_accounts WHERE id = :w"),
                        {"w": wallet},
                    )
                ).one()
                await barrier.wait()  # both read before either writes
                merchant = await _account(conn, _owner(), "nova", owner_type="merchant")
                spend = await _journal(conn, _owner())
                await conn.execute(
                    text("UPDATE ledger_accounts SET balance = :b, version = :v WHERE id = :w"),
                    {"b": row.balance - amount, "v": row.version + 1, "w": wallet},
                )
                await _entry(conn, spend, wallet, -amount, row.version + 1)
                await _entry(conn, spend, merchant, amount, 1)
            return "ok"
        except IntegrityError as exc:
            assert "uq_ledger_entries_account_version" in str(exc)
            return "lost-update-caught"

    results = sorted(await asyncio.gather(naive_spend(60), naive_spend(60)))
    assert results == ["lost-update-caught", "ok"]
    balance = await scalar(db, "SELECT balance FROM ledger_accounts WHERE id = :w", w=wallet)
    total = await scalar(
        db, "SELECT sum(amount) FROM ledger_entries WHERE account_id = :w", w=wallet
    )
    assert balance == total == 40
