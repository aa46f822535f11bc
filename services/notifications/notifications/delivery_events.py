"""The events of a delivery, staged in the outbox of the caller's transaction.

``sms_sent`` when Twilio holds the message; ``sms_delivered`` / ``sms_failed`` when it reaches a
terminal status (from a status callback, or found so by a lookup). No event carries the phone
number or the body.
"""

from __future__ import annotations

from datetime import datetime

from messaging.contracts import Message
from messaging.subscriber import Delivery
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.contracts import SmsDeliveredV1, SmsFailedV1, SmsSentV1
from notifications.delivery_repository import DeliveryRow
from notifications.deps import Deps
from notifications.sms_status import DEAD_LETTERED


async def publish(
    tx: AsyncSession, deps: Deps, cause: Delivery[Deps] | None, event: Message
) -> None:
    """Stages ``event``, caused by the message ``cause`` when one caused it."""
    if cause is None:
        await deps.outbox.add(tx, event)
        return
    await deps.outbox.add(
        tx, event, correlation_id=cause.envelope.correlation_id, causation_id=str(cause.message_id)
    )


def sent_event(row: DeliveryRow, status: str, now: datetime) -> SmsSentV1:
    return SmsSentV1(delivery_key=row.delivery_key, reference=row.reference, status=status, at=now)


async def sent(
    tx: AsyncSession,
    deps: Deps,
    cause: Delivery[Deps] | None,
    row: DeliveryRow,
    status: str,
    now: datetime,
) -> None:
    await publish(tx, deps, cause, sent_event(row, status, now))


async def delivered(
    tx: AsyncSession,
    deps: Deps,
    cause: Delivery[Deps] | None,
    row: DeliveryRow,
    now: datetime,
) -> None:
    event = SmsDeliveredV1(
        delivery_key=row.delivery_key, reference=row.reference, status="delivered", at=now
    )
    await publish(tx, deps, cause, event)


async def failed(
    tx: AsyncSession,
    deps: Deps,
    cause: Delivery[Deps] | None,
    row: DeliveryRow,
    now: datetime,
    *,
    code: int | None,
    permanent: bool,
    status: str | None = None,
) -> None:
    event = SmsFailedV1(
        delivery_key=row.delivery_key,
        reference=row.reference,
        status=status or ("failed" if permanent else DEAD_LETTERED),
        error_code=code,
        permanent=permanent,
        at=now,
    )
    await publish(tx, deps, cause, event)
