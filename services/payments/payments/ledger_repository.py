"""Ledger rows <-> domain: posting journals through ``post_journal`` and reading balances.

A journal is posted in one round trip: ``ledger_account()`` finds or creates each account,
``post_journal()`` locks them in id order, refuses an overdraft before writing, dedups on
``(kind, external_ref)`` and writes the entries with ``balance_after`` and ``account_version``.
:func:`post` runs it in an engine transaction, :func:`post_direct` in a transaction on the
direct pool (the redemption's hot path): the same statement either way.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from common.direct_sql import DirectStatement, DirectTransaction, compile_statement
from sqlalchemy import TextClause, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from payments import tables
from payments.ledger import AccountRef, Journal


class PostStatus(StrEnum):
    POSTED = "posted"
    DUPLICATE = "duplicate"
    INSUFFICIENT_FUNDS = "insufficient_funds"


@dataclass(frozen=True, slots=True)
class PostResult:
    status: PostStatus
    transaction_id: uuid.UUID | None
    balances: tuple[int, ...]
    """Each leg's balance after posting, in leg order (empty unless posted)."""


@lru_cache(maxsize=8)
def _post_statement(legs: int) -> TextClause:
    accounts = ", ".join(
        f"payments.ledger_account(:ot{i}, :oi{i}, :pu{i}, :an{i})" for i in range(legs)
    )
    return text(
        "SELECT status, transaction_id, balances FROM payments.post_journal("
        ":kind, :ref, :actor_type, :actor_id, CAST(:metadata AS jsonb), "
        f"ARRAY[{accounts}]::uuid[], CAST(:amounts AS bigint[]))"
    )


def _account_params(index: int, account: AccountRef) -> dict[str, Any]:
    return {
        f"ot{index}": account.owner_type.value,
        f"oi{index}": account.owner_id,
        f"pu{index}": account.purpose,
        f"an{index}": account.allow_negative,
    }


@lru_cache(maxsize=8)
def _post_direct(legs: int) -> DirectStatement:
    return compile_statement(_post_statement(legs))


def post_params(journal: Journal) -> dict[str, Any]:
    """The parameters of the posting statement of ``journal``."""
    params: dict[str, Any] = {
        "kind": journal.kind.value,
        "ref": journal.external_ref,
        "actor_type": journal.actor_type,
        "actor_id": journal.actor_id,
        "metadata": json.dumps(journal.metadata),
        "amounts": [leg.amount for leg in journal.legs],
    }
    for index, leg in enumerate(journal.legs):
        params.update(_account_params(index, leg.account))
    return params


def post_statement(journal: Journal) -> DirectStatement:
    """The posting statement of ``journal`` compiled for the direct pool (cached per leg count)."""
    return _post_direct(len(journal.legs))


async def post(tx: AsyncSession, journal: Journal) -> PostResult:
    row = (await tx.execute(_post_statement(len(journal.legs)), post_params(journal))).one()
    return PostResult(
        status=PostStatus(row.status),
        transaction_id=row.transaction_id,
        balances=tuple(row.balances or ()),
    )


async def post_direct(tx: DirectTransaction, journal: Journal) -> PostResult:
    row = await tx.fetchrow(post_statement(journal), post_params(journal))
    if row is None:
        raise RuntimeError("post_journal returned no row")
    return PostResult(
        status=PostStatus(row["status"]),
        transaction_id=row["transaction_id"],
        balances=tuple(row["balances"] or ()),
    )


@dataclass(frozen=True, slots=True)
class Balance:
    balance: int
    version: int


def _account_filter(account: AccountRef) -> Any:
    a = tables.ledger_accounts.c
    return (
        (a.owner_type == account.owner_type.value)
        & (a.owner_id == account.owner_id)
        & (a.purpose == account.purpose)
        & (a.asset == "NOVA")
    )


async def balance_of(tx: AsyncSession, account: AccountRef) -> Balance:
    a = tables.ledger_accounts.c
    row = (await tx.execute(select(a.balance, a.version).where(_account_filter(account)))).first()
    return Balance(balance=int(row.balance), version=int(row.version)) if row else Balance(0, 0)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    entry_id: int
    transaction_id: uuid.UUID
    kind: str
    amount: int
    balance_after: int
    account_version: int
    created_at: datetime
    metadata: dict[str, Any]


_HISTORY = text(
    "SELECT e.id, e.transaction_id, t.kind, e.amount, e.balance_after, e.account_version,"
    " e.created_at, t.metadata"
    " FROM payments.ledger_entries e"
    " JOIN payments.ledger_transactions t ON t.id = e.transaction_id"
    " WHERE e.account_id = (SELECT id FROM payments.ledger_accounts"
    "   WHERE owner_type = :ot AND owner_id = :oi AND purpose = :pu AND asset = 'NOVA')"
    " AND (CAST(:before AS bigint) IS NULL OR e.id < CAST(:before AS bigint))"
    " ORDER BY e.id DESC LIMIT :limit"
).bindparams(bindparam("before", required=False))


async def history(
    tx: AsyncSession, account: AccountRef, *, before: int | None, limit: int
) -> list[HistoryEntry]:
    """Newest first; ``before`` is the keyset cursor (an entry id)."""
    rows = await tx.execute(
        _HISTORY,
        {
            "ot": account.owner_type.value,
            "oi": account.owner_id,
            "pu": account.purpose,
            "before": before,
            "limit": limit,
        },
    )
    return [
        HistoryEntry(
            entry_id=r.id,
            transaction_id=r.transaction_id,
            kind=r.kind,
            amount=r.amount,
            balance_after=r.balance_after,
            account_version=r.account_version,
            created_at=r.created_at,
            metadata=dict(r.metadata or {}),
        )
        for r in rows
    ]
