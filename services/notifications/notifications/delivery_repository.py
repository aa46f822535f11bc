"""Rows of SMS deliveries, attempts and opt-outs, inside the caller's transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.contracts import Reference
from notifications.tables import phone_optouts, sms_attempts, sms_deliveries

d = sms_deliveries.c
a = sms_attempts.c


@dataclass(frozen=True)
class DeliveryRow:
    id: uuid.UUID
    delivery_key: str
    reference: Reference
    body: str
    phone_key_id: str
    phone_ciphertext: bytes
    phone_hash: bytes
    status: str
    status_rank: int
    message_sid: str | None
    resends: int
    reply_code: str | None = None
    traceparent: str | None = None

    @classmethod
    def of(cls, row: Any) -> DeliveryRow:
        """From a row's columns (a SQLAlchemy row's ``_mapping`` or an asyncpg record)."""
        return cls(
            id=row["id"],
            delivery_key=row["delivery_key"],
            reference=Reference(kind=row["reference_kind"], id=row["reference_id"]),
            body=row["body"],
            phone_key_id=row["phone_key_id"],
            phone_ciphertext=row["phone_ciphertext"],
            phone_hash=row["phone_hash"],
            status=row["status"],
            status_rank=row["status_rank"],
            message_sid=row["message_sid"],
            resends=row["resends"],
            reply_code=row["reply_code"],
            traceparent=row["traceparent"],
        )


@dataclass(frozen=True)
class AttemptRow:
    id: int
    n: int
    started_at: datetime
    outcome: str
    message_sid: str | None


async def insert_delivery(tx: AsyncSession, values: dict[str, Any]) -> bool:
    """True when this call created the delivery; False when its key already existed."""
    stmt = (
        insert(sms_deliveries)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[d.delivery_key])
        .returning(d.id)
    )
    return (await tx.execute(stmt)).first() is not None


async def lock_delivery(tx: AsyncSession, delivery_key: str) -> DeliveryRow:
    """The delivery, row-locked until the transaction ends (one worker decides at a time)."""
    row = (
        await tx.execute(
            select(sms_deliveries).where(d.delivery_key == delivery_key).with_for_update()
        )
    ).one()
    return DeliveryRow.of(row._mapping)


async def lock_delivery_by_id(tx: AsyncSession, delivery_id: uuid.UUID) -> DeliveryRow | None:
    row = (
        await tx.execute(select(sms_deliveries).where(d.id == delivery_id).with_for_update())
    ).first()
    return None if row is None else DeliveryRow.of(row._mapping)


async def latest_attempt(tx: AsyncSession, delivery_id: uuid.UUID) -> AttemptRow | None:
    row = (
        await tx.execute(
            select(a.id, a.n, a.started_at, a.outcome, a.message_sid)
            .where(a.delivery_id == delivery_id)
            .order_by(a.n.desc())
            .limit(1)
        )
    ).first()
    return (
        None
        if row is None
        else AttemptRow(row.id, row.n, row.started_at, row.outcome, row.message_sid)
    )


async def start_attempt(
    tx: AsyncSession, delivery_id: uuid.UUID, n: int, started_at: datetime
) -> AttemptRow:
    attempt_id = (
        await tx.execute(
            insert(sms_attempts)
            .values(delivery_id=delivery_id, n=n, started_at=started_at, outcome="sending")
            .returning(a.id)
        )
    ).scalar_one()
    return AttemptRow(attempt_id, n, started_at, "sending", None)


# Built once: the general path runs it in its transaction, the retry path on the direct pool.
FINISH_ATTEMPT = (
    update(sms_attempts)
    .where(a.id == bindparam("attempt"))
    .values(
        outcome=bindparam("new_outcome"),
        finished_at=bindparam("new_finished_at"),
        message_sid=bindparam("new_message_sid"),
        http_status=bindparam("new_http_status"),
        error_code=bindparam("new_error_code"),
    )
)


async def finish_attempt(
    tx: AsyncSession,
    attempt_id: int,
    *,
    outcome: str,
    finished_at: datetime,
    message_sid: str | None = None,
    http_status: int | None = None,
    error_code: int | None = None,
) -> None:
    await tx.execute(
        FINISH_ATTEMPT,
        {
            "attempt": attempt_id,
            "new_outcome": outcome,
            "new_finished_at": finished_at,
            "new_message_sid": message_sid,
            "new_http_status": http_status,
            "new_error_code": error_code,
        },
    )


async def resolve_attempt(
    tx: AsyncSession,
    attempt_id: int,
    *,
    outcome: str,
    at: datetime,
    message_sid: str | None = None,
) -> None:
    """Settles an attempt whose outcome was unknown, keeping what the call itself recorded."""
    values: dict[str, Any] = {"outcome": outcome, "finished_at": func.coalesce(a.finished_at, at)}
    if message_sid is not None:
        values["message_sid"] = message_sid
    await tx.execute(update(sms_attempts).where(a.id == attempt_id).values(**values))


async def set_state(
    tx: AsyncSession,
    delivery_id: uuid.UUID,
    *,
    status: str,
    rank: int,
    at: datetime,
    error_code: int | None = None,
    permanent: bool = False,
    failure_reason: str | None = None,
    message_sid: str | None = None,
    resends: int | None = None,
) -> None:
    """Sets the delivery's state as the send path decides it (callbacks use ``advance``)."""
    values: dict[str, Any] = {
        "status": status,
        "status_rank": rank,
        "error_code": error_code,
        "permanent": permanent,
        "failure_reason": failure_reason,
        "updated_at": at,
    }
    if message_sid is not None:
        values["message_sid"] = message_sid
    if resends is not None:
        values["resends"] = resends
    await tx.execute(update(sms_deliveries).where(d.id == delivery_id).values(**values))


async def advance(
    tx: AsyncSession,
    delivery_id: uuid.UUID,
    *,
    status: str,
    rank: int,
    at: datetime,
    error_code: int | None,
    permanent: bool,
) -> bool:
    """Moves the delivery to ``status`` only if that is forward; True when it moved."""
    result = await tx.execute(
        update(sms_deliveries)
        .where(d.id == delivery_id, d.status_rank < rank)
        .values(
            status=status,
            status_rank=rank,
            error_code=error_code,
            permanent=permanent,
            updated_at=at,
        )
        .returning(d.id)
    )
    return result.first() is not None


async def is_opted_out(tx: AsyncSession, phone_hash: bytes) -> bool:
    found = await tx.scalar(
        select(phone_optouts.c.opted_out).where(phone_optouts.c.phone_hash == phone_hash)
    )
    return bool(found)


async def set_opt_out(
    tx: AsyncSession, phone_hash: bytes, *, opted_out: bool, at: datetime
) -> None:
    new = insert(phone_optouts).values(phone_hash=phone_hash, opted_out=opted_out, changed_at=at)
    await tx.execute(
        new.on_conflict_do_update(
            index_elements=[phone_optouts.c.phone_hash],
            set_={"opted_out": new.excluded.opted_out, "changed_at": new.excluded.changed_at},
        )
    )


async def claim_message_sid(
    tx: AsyncSession, delivery_id: uuid.UUID, message_sid: str, *, at: datetime
) -> bool:
    """Records the delivery's Twilio SID if it has none yet; True for the first to do so."""
    result = await tx.execute(
        update(sms_deliveries)
        .where(d.id == delivery_id, d.message_sid.is_(None))
        .values(message_sid=message_sid, updated_at=at)
        .returning(d.id)
    )
    return result.first() is not None
