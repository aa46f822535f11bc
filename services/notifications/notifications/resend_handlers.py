"""Use case: re-send an SMS Twilio reported undelivered with a retryable carrier code.

A status callback ``undelivered`` (or ``failed``) whose ``ErrorCode`` is retryable
(``sms_status.delivery_failure_retryable``: 30001, 30003, 30008, unknown 30xxx) does not end
the delivery while the send queue's schedule (``5s, 30s, 2m, 10m, 30m``) has a tier left:

1. **schedule** (in the callback's transaction, delivery row locked): the delivery becomes
   ``resend_scheduled`` (its undelivered message forgotten, ``resends`` + 1) and the command
   ``notifications.sms.resend.v1`` is staged in the outbox, published only after the delay of
   that re-send's tier. The update is guarded by the undelivered message's SID, the delivery's
   rank and its re-send count, so a duplicated, late or racing callback schedules nothing;
2. **re-send** (consumer of ``notifications.sms.resend``): if that re-send is still due, the
   delivery's command is rebuilt from its row and goes through ``send_sms`` itself — a new
   attempt under the same delivery, with its reconcile-before-resend, opt-out check, retry tiers
   and DLQ.

With no tier left the callback ends the delivery: ``notification.sms_failed.v1`` with
``permanent: true`` (no retry is left, and nothing waits in a DLQ), so sessions flags the
merchant unreachable.
"""

from __future__ import annotations

import logging
from datetime import datetime

from messaging.subscriber import Delivery
from sqlalchemy.ext.asyncio import AsyncSession

from notifications import resend_repository as resends
from notifications.contracts import ResendSmsV1, SendSms
from notifications.delivery_repository import DeliveryRow
from notifications.deps import Deps
from notifications.send_handlers import send_sms
from notifications.sms_status import delivery_failure_retryable

logger = logging.getLogger(__name__)

RESENDABLE_STATUSES = frozenset({"undelivered", "failed"})


async def schedule_resend(
    tx: AsyncSession,
    deps: Deps,
    row: DeliveryRow,
    *,
    status: str,
    error_code: int | None,
    now: datetime,
) -> bool:
    """True when this callback scheduled a re-send (nothing else is to be applied for it)."""
    if status not in RESENDABLE_STATUSES or not delivery_failure_retryable(error_code):
        return False
    delays = deps.send_policy.resend_delays
    if row.message_sid is None or resends_spent(deps, row):
        return False  # the schedule is spent: the delivery fails
    scheduled = await resends.schedule(
        tx,
        row.id,
        undelivered_sid=row.message_sid,
        resends=row.resends,
        error_code=error_code,
        at=now,
    )
    if not scheduled:
        return False
    n = row.resends + 1
    command = ResendSmsV1(delivery_key=row.delivery_key, resend=n)
    envelope = await deps.outbox.add(tx, command)
    await resends.delay_outbox_message(tx, envelope.message_id, delays[n - 1])
    logger.info(
        "undelivered sms: re-send scheduled",
        extra={"delivery_id": str(row.id), "resend": n, "twilio_code": error_code},
    )
    return True


def resends_spent(deps: Deps, row: DeliveryRow) -> bool:
    """No tier is left for another re-send: a failure now is final (``permanent``)."""
    return row.resends >= len(deps.send_policy.resend_delays)


async def resend_sms(deps: Deps, delivery: Delivery[Deps], command: ResendSmsV1) -> None:
    async with deps.uow() as tx:
        due = await resends.awaiting_resend(tx, command.delivery_key, command.resend)
    if due is None:
        logger.info("re-send no longer due; ignored", extra={"resend": command.resend})
        return
    original = SendSms(
        delivery_key=due.delivery_key,
        to=deps.phones.open(due.phone_key_id, due.phone_ciphertext),
        template=due.template,
        reference=due.reference,
        reply_code=due.reply_code,
    )
    await send_sms(deps, delivery, original)
