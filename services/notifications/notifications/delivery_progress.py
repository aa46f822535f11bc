"""A delivery's state moving forward, with the events that tell sessions, in the caller's
transaction: shared by the send path and the status callbacks."""

from __future__ import annotations

from datetime import datetime

from messaging.subscriber import Delivery
from sqlalchemy.ext.asyncio import AsyncSession

from notifications import delivery_events as events
from notifications import delivery_repository as repo
from notifications.delivery_repository import DeliveryRow
from notifications.deps import Deps
from notifications.sms_outcomes import SentSms
from notifications.sms_status import delivery_failure_retryable, rank


async def accept(
    tx: AsyncSession,
    deps: Deps,
    delivery: Delivery[Deps] | None,
    row: DeliveryRow,
    sent: SentSms,
    now: datetime,
    *,
    error_code: int | None = None,
) -> None:
    """The delivery's message exists at Twilio: its SID, its status, ``sms_sent`` exactly once
    (whoever records the SID first publishes: the send, a reconcile or a status callback)."""
    if not await repo.claim_message_sid(tx, row.id, sent.sid, at=now):
        return
    await events.sent(tx, deps, delivery, row, "accepted", now)
    await advance(tx, deps, delivery, row, sent.status, error_code, now)


async def advance(
    tx: AsyncSession,
    deps: Deps,
    cause: Delivery[Deps] | None,
    row: DeliveryRow,
    status: str,
    error_code: int | None,
    now: datetime,
    *,
    final: bool = False,
) -> bool:
    """Moves the delivery forward to ``status`` (never back); a move into a terminal status
    publishes ``sms_delivered`` / ``sms_failed`` (``permanent`` when the code is final, or when
    ``final``: no re-send is left). True when it moved."""
    if rank(status) < 0:
        return False
    failed = status in ("failed", "undelivered")
    permanent = failed and (final or not delivery_failure_retryable(error_code))
    moved = await repo.advance(
        tx,
        row.id,
        status=status,
        rank=rank(status),
        at=now,
        error_code=error_code if failed else None,
        permanent=permanent,
    )
    if moved and status == "delivered":
        await events.delivered(tx, deps, cause, row, now)
    elif moved and failed:
        await events.failed(
            tx, deps, cause, row, now, code=error_code, permanent=permanent, status=status
        )
    return moved


async def fail_permanently(
    tx: AsyncSession,
    deps: Deps,
    delivery: Delivery[Deps] | None,
    row: DeliveryRow,
    now: datetime,
    *,
    reason: str,
    code: int | None,
) -> None:
    await repo.set_state(
        tx,
        row.id,
        status="failed",
        rank=rank("failed"),
        at=now,
        error_code=code,
        permanent=True,
        failure_reason=reason,
    )
    await events.failed(tx, deps, delivery, row, now, code=code, permanent=True)
