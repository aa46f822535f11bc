"""Rows of the re-send of an undelivered SMS, inside the caller's transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.contracts import Reference
from notifications.sms_status import DEAD_LETTERED, RESEND_SCHEDULED, rank
from notifications.tables import messaging, sms_deliveries

d = sms_deliveries.c


@dataclass(frozen=True)
class ResendDue:
    """What a re-send needs to rebuild the delivery's command (the phone stays sealed here)."""

    delivery_key: str
    template: str
    reference: Reference
    reply_code: str | None
    phone_key_id: str
    phone_ciphertext: bytes


async def schedule(
    tx: AsyncSession,
    delivery_id: uuid.UUID,
    *,
    undelivered_sid: str,
    resends: int,
    error_code: int | None,
    at: datetime,
) -> bool:
    """Moves the delivery to ``resend_scheduled`` (its message forgotten, one more re-send
    counted) only if it is still that message, not terminal, and no other callback counted a
    re-send meanwhile; True when this call did it."""
    result = await tx.execute(
        update(sms_deliveries)
        .where(
            d.id == delivery_id,
            d.message_sid == undelivered_sid,
            d.status_rank < rank("delivered"),
            d.resends == resends,
        )
        .values(
            status=RESEND_SCHEDULED,
            status_rank=rank(RESEND_SCHEDULED),
            message_sid=None,
            resends=resends + 1,
            error_code=error_code,
            permanent=False,
            failure_reason="undelivered",
            updated_at=at,
        )
        .returning(d.id)
    )
    return result.first() is not None


async def delay_outbox_message(tx: AsyncSession, message_id: uuid.UUID, delay: timedelta) -> None:
    """The relay publishes the staged message only ``delay`` after this transaction's time."""
    outbox = messaging.outbox
    await tx.execute(
        update(outbox)
        .where(outbox.c.message_id == message_id)
        .values(available_at=func.now() + delay)
    )


async def awaiting_resend(tx: AsyncSession, delivery_key: str, resend: int) -> ResendDue | None:
    """The delivery if its ``resend``-th re-send is still due (or dead-lettered, for a replay)."""
    row: Any = (
        await tx.execute(
            select(
                d.delivery_key,
                d.template,
                d.reference_kind,
                d.reference_id,
                d.reply_code,
                d.phone_key_id,
                d.phone_ciphertext,
            ).where(
                d.delivery_key == delivery_key,
                d.resends == resend,
                d.status.in_((RESEND_SCHEDULED, DEAD_LETTERED)),
            )
        )
    ).first()
    if row is None:
        return None
    return ResendDue(
        delivery_key=row.delivery_key,
        template=row.template,
        reference=Reference(kind=row.reference_kind, id=row.reference_id),
        reply_code=row.reply_code,
        phone_key_id=row.phone_key_id,
        phone_ciphertext=row.phone_ciphertext,
    )
