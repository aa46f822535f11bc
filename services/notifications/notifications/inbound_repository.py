"""Rows of inbound SMS and the open deliveries a reply can answer, in the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.delivery_repository import DeliveryRow
from notifications.phone_vault import SealedPhone
from notifications.tables import inbound_sms, sms_deliveries

d = sms_deliveries.c


async def insert_inbound(
    tx: AsyncSession,
    *,
    message_sid: str,
    phone: SealedPhone,
    body: str,
    keyword: str,
    reply_code: str | None,
    at: datetime,
) -> int | None:
    """The new row's id; None when this ``MessageSid`` was received before (Twilio retried)."""
    stmt = (
        insert(inbound_sms)
        .values(
            message_sid=message_sid,
            phone_key_id=phone.key_id,
            phone_ciphertext=phone.ciphertext,
            phone_hash=phone.lookup_hash,
            body=body,
            keyword=keyword,
            reply_code=reply_code,
            received_at=at,
        )
        .on_conflict_do_nothing(index_elements=[inbound_sms.c.message_sid])
        .returning(inbound_sms.c.id)
    )
    found = (await tx.execute(stmt)).scalar_one_or_none()
    return None if found is None else int(found)


async def open_deliveries(
    tx: AsyncSession, phone_hash: bytes, *, since: datetime
) -> list[DeliveryRow]:
    """Deliveries sent to this phone, awaiting a reply (with a reply code, not yet answered,
    not failed), newest first; locked so two replies cannot both take one."""
    rows = await tx.execute(
        select(sms_deliveries)
        .where(
            d.phone_hash == phone_hash,
            d.created_at >= since,
            d.reply_code.is_not(None),
            d.replied_at.is_(None),
            d.message_sid.is_not(None),
            d.status.not_in(("failed", "undelivered")),
        )
        .order_by(d.created_at.desc())
        .with_for_update()
    )
    return [DeliveryRow.of(row._mapping) for row in rows]


async def mark_answered(
    tx: AsyncSession, inbound_id: int, delivery_id: uuid.UUID, *, replied: bool, at: datetime
) -> None:
    await tx.execute(
        update(inbound_sms).where(inbound_sms.c.id == inbound_id).values(delivery_id=delivery_id)
    )
    if replied:
        await tx.execute(
            update(sms_deliveries)
            .where(d.id == delivery_id)
            .values(replied_at=func.coalesce(d.replied_at, at), updated_at=at)
        )
