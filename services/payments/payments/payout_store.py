"""Rows of driver payouts: the payout, its transitions, the drivers' payout accounts.

Status changes go through :func:`transition` only: one guarded UPDATE (the database trigger
refuses an illegal move) and one ``payout_transitions`` row, in the caller's transaction.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

OPEN = ("pending", "unknown", "frozen")
RECONCILABLE = ("pending", "unknown")


class Now:
    """A column value meaning the database's ``now()``."""


NOW = Now()


@dataclass(frozen=True)
class InSeconds:
    """A column value meaning ``now()`` plus ``seconds``."""

    seconds: float


@dataclass(frozen=True)
class Payout:
    id: uuid.UUID
    driver_id: uuid.UUID
    nova_amount: int
    rate_minor_per_nova: Decimal
    amount_minor: int
    currency: str
    destination_account: str
    status: str
    stripe_request: dict[str, Any]
    transfer_group: str
    stripe_transfer_id: str | None
    stripe_status: str | None
    attempt_count: int
    last_error_code: str | None
    last_error_message: str | None
    no_transfer_confirmed: bool
    retry_of: uuid.UUID | None
    first_submitted_at: datetime | None
    settled_at: datetime | None
    reconciled_at: datetime | None
    next_reconcile_at: datetime
    reconcile_attempts: int
    created_at: datetime

    @property
    def settled(self) -> bool:
        return self.status in ("succeeded", "failed", "reversed")


_COLUMNS = (
    "id, driver_id, nova_amount, rate_minor_per_nova, amount_minor, currency,"
    " destination_account, status, stripe_request, transfer_group, stripe_transfer_id,"
    " stripe_status, attempt_count, last_error_code, last_error_message, no_transfer_confirmed,"
    " retry_of, first_submitted_at, settled_at, reconciled_at, next_reconcile_at,"
    " reconcile_attempts, created_at"
)


def _payout(row: Any) -> Payout:
    values = dict(row._mapping)
    stored = values["stripe_request"]
    values["stripe_request"] = json.loads(stored) if isinstance(stored, str) else dict(stored)
    return Payout(**values)


async def get(tx: AsyncSession, payout_id: uuid.UUID, *, lock: bool = False) -> Payout | None:
    suffix = " FOR UPDATE" if lock else ""
    row = (
        await tx.execute(
            text(f"SELECT {_COLUMNS} FROM payments.payouts WHERE id = :id{suffix}"),
            {"id": payout_id},
        )
    ).first()
    return None if row is None else _payout(row)


async def retry_of(tx: AsyncSession, payout_id: uuid.UUID) -> Payout | None:
    """The payout a repeated request created after ``payout_id`` failed (if any)."""
    row = (
        await tx.execute(
            text(f"SELECT {_COLUMNS} FROM payments.payouts WHERE retry_of = :id"),
            {"id": payout_id},
        )
    ).first()
    return None if row is None else _payout(row)


async def listing(tx: AsyncSession, *, status: str | None, limit: int) -> list[Payout]:
    rows = await tx.execute(
        text(
            f"SELECT {_COLUMNS} FROM payments.payouts"
            " WHERE (CAST(:status AS text) IS NULL OR status = CAST(:status AS text))"
            " ORDER BY created_at DESC LIMIT :limit"
        ),
        {"status": status, "limit": limit},
    )
    return [_payout(row) for row in rows]


async def record_transition(
    tx: AsyncSession,
    payout_id: uuid.UUID,
    from_status: str | None,
    to_status: str,
    *,
    reason: str,
    actor: str,
    details: dict[str, Any] | None = None,
) -> None:
    await tx.execute(
        text(
            "INSERT INTO payments.payout_transitions"
            " (payout_id, from_status, to_status, reason, actor, details)"
            " VALUES (:id, :from_status, :to_status, :reason, :actor, CAST(:details AS jsonb))"
        ),
        {
            "id": payout_id,
            "from_status": from_status,
            "to_status": to_status,
            "reason": reason,
            "actor": actor,
            "details": json.dumps(details or {}, default=str),
        },
    )


async def transition(
    tx: AsyncSession,
    payout: Payout,
    to_status: str,
    *,
    reason: str,
    actor: str,
    details: dict[str, Any] | None = None,
    **values: Any,
) -> None:
    """Moves a payout (locked by the caller) from its status to ``to_status``."""
    await update(tx, payout.id, status=to_status, **values)
    await record_transition(
        tx, payout.id, payout.status, to_status, reason=reason, actor=actor, details=details
    )


async def update(tx: AsyncSession, payout_id: uuid.UUID, **values: Any) -> None:
    sets: list[str] = []
    params: dict[str, Any] = {"payout_id": payout_id}
    for name, value in values.items():
        if isinstance(value, Now):
            sets.append(f"{name} = now()")
        elif isinstance(value, InSeconds):
            sets.append(f"{name} = now() + make_interval(secs => :{name})")
            params[name] = value.seconds
        else:
            sets.append(f"{name} = :{name}")
            params[name] = value
    await tx.execute(
        text(
            f"UPDATE payments.payouts SET {', '.join(sets)}, updated_at = now()"
            " WHERE id = :payout_id"
        ),
        params,
    )


async def mark_submitted(tx: AsyncSession, payout_id: uuid.UUID) -> datetime:
    """Counts one POST attempt; the first one starts the key's replay window."""
    row = (
        await tx.execute(
            text(
                "UPDATE payments.payouts SET attempt_count = attempt_count + 1,"
                " first_submitted_at = COALESCE(first_submitted_at, now()), updated_at = now()"
                " WHERE id = :id RETURNING first_submitted_at"
            ),
            {"id": payout_id},
        )
    ).one()
    submitted: datetime = row[0]
    return submitted


async def transitions(tx: AsyncSession, payout_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await tx.execute(
        text(
            "SELECT from_status, to_status, reason, actor, details, created_at"
            " FROM payments.payout_transitions WHERE payout_id = :id ORDER BY id"
        ),
        {"id": payout_id},
    )
    return [dict(row._mapping) for row in rows]


# ---------------------------------------------------------------- reconciler leases


async def lease_due(tx: AsyncSession, *, batch: int, lease_seconds: float) -> list[uuid.UUID]:
    """Leases up to ``batch`` payouts due for reconciliation; a leased or locked one is
    skipped, so every replica may run this at once and each payout has one actor."""
    rows = await tx.execute(
        text(
            "UPDATE payments.payouts SET reconcile_lease_until ="
            " now() + make_interval(secs => :lease)"
            " WHERE id IN (SELECT id FROM payments.payouts"
            "   WHERE status IN ('pending', 'unknown') AND next_reconcile_at <= now()"
            "   AND (reconcile_lease_until IS NULL OR reconcile_lease_until < now())"
            "   ORDER BY next_reconcile_at LIMIT :batch FOR UPDATE SKIP LOCKED)"
            " RETURNING id"
        ),
        {"batch": batch, "lease": lease_seconds},
    )
    return [row[0] for row in rows]


async def lease_one(tx: AsyncSession, payout_id: uuid.UUID, *, lease_seconds: float) -> bool:
    """Leases one payout for an on-demand reconcile; False when another actor holds it."""
    row = (
        await tx.execute(
            text(
                "UPDATE payments.payouts SET reconcile_lease_until ="
                " now() + make_interval(secs => :lease)"
                " WHERE id = (SELECT id FROM payments.payouts WHERE id = :id"
                "   AND (reconcile_lease_until IS NULL OR reconcile_lease_until < now())"
                "   FOR UPDATE SKIP LOCKED)"
                " RETURNING id"
            ),
            {"id": payout_id, "lease": lease_seconds},
        )
    ).first()
    return row is not None


async def release_lease(
    tx: AsyncSession, payout_id: uuid.UUID, *, retry_in_seconds: float | None
) -> None:
    """Ends the lease; ``retry_in_seconds`` schedules the next attempt (backoff)."""
    await tx.execute(
        text(
            "UPDATE payments.payouts SET reconcile_lease_until = NULL,"
            " reconcile_attempts = reconcile_attempts + 1,"
            " next_reconcile_at = CASE WHEN CAST(:retry AS double precision) IS NULL"
            "   THEN next_reconcile_at"
            "   ELSE now() + make_interval(secs => CAST(:retry AS double precision)) END"
            " WHERE id = :id"
        ),
        {"id": payout_id, "retry": retry_in_seconds},
    )


# ---------------------------------------------------------------- payout accounts


@dataclass(frozen=True)
class PayoutAccount:
    driver_id: uuid.UUID
    stripe_account_id: str
    payouts_enabled: bool
    disabled_reason: str | None


async def account_of(
    tx: AsyncSession, driver_id: uuid.UUID, *, lock: bool = False
) -> PayoutAccount | None:
    suffix = " FOR UPDATE" if lock else ""
    row = (
        await tx.execute(
            text(
                "SELECT driver_id, stripe_account_id, payouts_enabled, disabled_reason"
                " FROM payments.payout_accounts WHERE driver_id = :driver" + suffix
            ),
            {"driver": driver_id},
        )
    ).first()
    return None if row is None else PayoutAccount(**row._mapping)


async def store_account(tx: AsyncSession, driver_id: uuid.UUID, account_id: str) -> None:
    await tx.execute(
        text(
            "INSERT INTO payments.payout_accounts (driver_id, stripe_account_id)"
            " VALUES (:driver, :account) ON CONFLICT (driver_id) DO NOTHING"
        ),
        {"driver": driver_id, "account": account_id},
    )


async def update_account_readiness(
    tx: AsyncSession, account_id: str, *, enabled: bool, disabled_reason: str | None
) -> uuid.UUID | None:
    """Stores what Stripe says now; the driver of the account, None for an unknown account."""
    row = (
        await tx.execute(
            text(
                "UPDATE payments.payout_accounts SET payouts_enabled = :enabled,"
                " disabled_reason = :reason, checked_at = now(), updated_at = now()"
                " WHERE stripe_account_id = :account RETURNING driver_id"
            ),
            {"account": account_id, "enabled": enabled, "reason": disabled_reason},
        )
    ).first()
    return None if row is None else row[0]
