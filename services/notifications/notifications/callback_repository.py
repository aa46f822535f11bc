"""Rows of Twilio's status callbacks and the lookups they need, in the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.delivery_repository import DeliveryRow
from notifications.tables import sms_attempts, sms_deliveries, sms_status_callbacks

c = sms_status_callbacks.c


async def record(
    tx: AsyncSession,
    *,
    message_sid: str,
    status: str,
    error_code: int | None,
    delivery_id: uuid.UUID | None,
    attempt_n: int | None,
    at: datetime,
) -> int | None:
    """The new callback's id; None when this (message, status) was seen before (Twilio retries)."""
    stmt = (
        insert(sms_status_callbacks)
        .values(
            message_sid=message_sid,
            message_status=status,
            error_code=error_code,
            delivery_id=delivery_id,
            attempt_n=attempt_n,
            applied=False,
            received_at=at,
        )
        .on_conflict_do_nothing(index_elements=[c.message_sid, c.message_status])
        .returning(c.id)
    )
    found = (await tx.execute(stmt)).scalar_one_or_none()
    return None if found is None else int(found)


async def mark(
    tx: AsyncSession, callback_id: int, *, applied: bool, delivery_id: uuid.UUID | None
) -> None:
    await tx.execute(
        update(sms_status_callbacks)
        .where(c.id == callback_id)
        .values(applied=applied, delivery_id=delivery_id)
    )


async def lock_delivery_of_message(tx: AsyncSession, message_sid: str) -> DeliveryRow | None:
    d = sms_deliveries.c
    row = (
        await tx.execute(
            select(sms_deliveries).where(d.message_sid == message_sid).with_for_update()
        )
    ).first()
    return None if row is None else DeliveryRow.of(row._mapping)


async def adopt_attempt(
    tx: AsyncSession, delivery_id: uuid.UUID, n: int, message_sid: str, *, at: datetime
) -> bool:
    """The callback proves attempt ``n`` reached Twilio: record its SID if still unsettled."""
    a = sms_attempts.c
    result = await tx.execute(
        update(sms_attempts)
        .where(
            a.delivery_id == delivery_id,
            a.n == n,
            a.message_sid.is_(None),
            a.outcome.in_(("sending", "unknown")),
        )
        .values(outcome="adopted", message_sid=message_sid, finished_at=at)
        .returning(a.id)
    )
    return result.first() is not None
