"""Rewards parked while earning is switched off: park, list, claim a batch, mark applied."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from payments import tables

p = tables.parked_rewards.c


@dataclass(frozen=True, slots=True)
class ParkedReward:
    session_id: uuid.UUID
    driver_id: uuid.UUID
    merchant_id: uuid.UUID
    reward_nova: int
    payload: dict[str, Any]
    correlation_id: str | None
    message_id: uuid.UUID
    reason: str
    parked_at: datetime
    applied_at: datetime | None
    ledger_transaction_id: uuid.UUID | None


def _parked(r: Any) -> ParkedReward:
    return ParkedReward(
        session_id=r.session_id,
        driver_id=r.driver_id,
        merchant_id=r.merchant_id,
        reward_nova=r.reward_nova,
        payload=dict(r.payload),
        correlation_id=r.correlation_id,
        message_id=r.message_id,
        reason=r.reason,
        parked_at=r.parked_at,
        applied_at=r.applied_at,
        ledger_transaction_id=r.ledger_transaction_id,
    )


async def park(
    tx: AsyncSession,
    *,
    session_id: uuid.UUID,
    driver_id: uuid.UUID,
    merchant_id: uuid.UUID,
    reward_nova: int,
    payload: dict[str, Any],
    correlation_id: str | None,
    message_id: uuid.UUID,
    reason: str,
) -> bool:
    """False when this session's reward is already parked (a second delivery)."""
    result = await tx.execute(
        insert(tables.parked_rewards)
        .values(
            session_id=session_id,
            driver_id=driver_id,
            merchant_id=merchant_id,
            reward_nova=reward_nova,
            payload=payload,
            correlation_id=correlation_id,
            message_id=message_id,
            reason=reason,
        )
        .on_conflict_do_nothing()
        .returning(p.session_id)
    )
    return result.first() is not None


async def claim_waiting(tx: AsyncSession, *, limit: int) -> list[ParkedReward]:
    """Oldest waiting rewards, locked for this transaction; other replicas skip them."""
    rows = await tx.execute(
        select(tables.parked_rewards)
        .where(p.applied_at.is_(None))
        .order_by(p.parked_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [_parked(r) for r in rows]


async def mark_applied(
    tx: AsyncSession, session_id: uuid.UUID, transaction_id: uuid.UUID | None
) -> None:
    await tx.execute(
        update(tables.parked_rewards)
        .where(p.session_id == session_id)
        .values(applied_at=func.now(), ledger_transaction_id=transaction_id)
    )


async def list_parked(
    tx: AsyncSession, *, waiting_only: bool, limit: int
) -> tuple[list[ParkedReward], int]:
    query = select(tables.parked_rewards).order_by(p.parked_at).limit(limit)
    count = select(func.count()).select_from(tables.parked_rewards)
    if waiting_only:
        query = query.where(p.applied_at.is_(None))
        count = count.where(p.applied_at.is_(None))
    rows = await tx.execute(query)
    total = (await tx.execute(count)).scalar_one()
    return [_parked(r) for r in rows], int(total)
