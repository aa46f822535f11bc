"""Kill-switch rows: read all, and set one with who, why and when (given the transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from payments import tables
from payments.kill_switches import Switch

s = tables.kill_switches.c


@dataclass(frozen=True, slots=True)
class SwitchRow:
    name: Switch
    enabled: bool
    reason: str
    updated_by: str
    updated_at: datetime


def _row(r: object) -> SwitchRow:
    return SwitchRow(
        name=Switch(r.name),  # type: ignore[attr-defined]
        enabled=bool(r.enabled),  # type: ignore[attr-defined]
        reason=r.reason,  # type: ignore[attr-defined]
        updated_by=r.updated_by,  # type: ignore[attr-defined]
        updated_at=r.updated_at,  # type: ignore[attr-defined]
    )


async def read_all(conn: AsyncConnection | AsyncSession) -> list[SwitchRow]:
    rows = await conn.execute(select(tables.kill_switches).order_by(s.name))
    return [_row(r) for r in rows if r.name in Switch.__members__]


async def lock_one(tx: AsyncSession, name: Switch) -> SwitchRow | None:
    row = (
        await tx.execute(select(tables.kill_switches).where(s.name == name.value).with_for_update())
    ).first()
    return _row(row) if row else None


async def set_one(
    tx: AsyncSession, name: Switch, *, enabled: bool, reason: str, actor: str
) -> SwitchRow:
    row = (
        await tx.execute(
            update(tables.kill_switches)
            .where(s.name == name.value)
            .values(enabled=enabled, reason=reason, updated_by=actor, updated_at=func.now())
            .returning(tables.kill_switches)
        )
    ).one()
    return _row(row)
