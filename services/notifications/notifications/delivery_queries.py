"""Read-side queries of SMS deliveries for ops (filters, keyset pages, attempts, callbacks)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.tables import sms_attempts, sms_deliveries, sms_status_callbacks

d, a, c = sms_deliveries.c, sms_attempts.c, sms_status_callbacks.c


@dataclass(frozen=True)
class DeliveryFilter:
    status: str | None = None
    reference_kind: str | None = None
    reference_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after: tuple[datetime, uuid.UUID] | None = None  # keyset: (created_at, id) of the last seen
    limit: int = 50


async def deliveries(tx: AsyncSession, where: DeliveryFilter) -> list[Any]:
    conditions = []
    if where.status:
        conditions.append(d.status == where.status)
    if where.reference_kind:
        conditions.append(d.reference_kind == where.reference_kind)
    if where.reference_id:
        conditions.append(d.reference_id == where.reference_id)
    if where.since:
        conditions.append(d.created_at >= where.since)
    if where.until:
        conditions.append(d.created_at < where.until)
    if where.after:
        conditions.append(tuple_(d.created_at, d.id) < tuple_(*where.after))
    stmt = (
        select(sms_deliveries)
        .where(and_(True, *conditions))
        .order_by(d.created_at.desc(), d.id.desc())
        .limit(where.limit)
    )
    return list(await tx.execute(stmt))


async def delivery(tx: AsyncSession, delivery_id: uuid.UUID) -> Any:
    return (await tx.execute(select(sms_deliveries).where(d.id == delivery_id))).first()


async def attempts_of(tx: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    found: dict[uuid.UUID, list[Any]] = {i: [] for i in ids}
    if ids:
        rows = await tx.execute(select(sms_attempts).where(a.delivery_id.in_(ids)).order_by(a.n))
        for row in rows:
            found[row.delivery_id].append(row)
    return found


async def callbacks_of(tx: AsyncSession, deliveries: list[Any]) -> dict[uuid.UUID, list[Any]]:
    """Callbacks by delivery: those attached to it, and those of its message's SID."""
    found: dict[uuid.UUID, list[Any]] = {row.id: [] for row in deliveries}
    by_sid = {row.message_sid: row.id for row in deliveries if row.message_sid}
    if not deliveries:
        return found
    rows = await tx.execute(
        select(sms_status_callbacks)
        .where(or_(c.delivery_id.in_(list(found)), c.message_sid.in_(list(by_sid))))
        .order_by(c.received_at, c.id)
    )
    for row in rows:
        owner = row.delivery_id or by_sid.get(row.message_sid)
        if owner in found:
            found[owner].append(row)
    return found
