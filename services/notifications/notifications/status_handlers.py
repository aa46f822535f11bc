"""Use case: apply one of Twilio's status callbacks to the delivery it is about.

Callbacks arrive out of order and more than once. A duplicate ``(MessageSid, MessageStatus)``
is stored once and changes nothing; a status only moves the delivery forward (a late ``sent``
after ``delivered`` is kept for ops, not applied); the move into ``delivered`` /
``undelivered`` / ``failed`` publishes ``notification.sms_delivered.v1`` / ``sms_failed.v1``.
A callback naming our delivery and attempt (``?d=&n=`` in its URL) for a message whose SID we
never learnt (the send timed out) proves the attempt was accepted: it is adopted. An
``undelivered`` with a retryable carrier code schedules a re-send instead while the send
queue's schedule lasts (``resend_handlers``). What a callback does happens in the trace of the
send that asked for the SMS (stored with the delivery), linked to the callback's own request.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from common.telemetry import continued_span

from notifications import callback_repository as callbacks
from notifications import delivery_repository as repo
from notifications.delivery_progress import accept, advance
from notifications.deps import Deps
from notifications.resend_handlers import resends_spent, schedule_resend
from notifications.sms_outcomes import SentSms

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StatusCallback:
    message_sid: str
    status: str
    error_code: int | None
    delivery_id: uuid.UUID | None
    attempt_n: int | None


async def record_status_callback(deps: Deps, callback: StatusCallback) -> None:
    async with deps.uow() as tx:
        now = deps.clock()
        callback_id = await callbacks.record(
            tx,
            message_sid=callback.message_sid,
            status=callback.status,
            error_code=callback.error_code,
            delivery_id=callback.delivery_id,
            attempt_n=callback.attempt_n,
            at=now,
        )
        if callback_id is None:
            return  # Twilio retried a callback we already have
        row = await callbacks.lock_delivery_of_message(tx, callback.message_sid)
        if row is None and callback.delivery_id is not None and callback.attempt_n is not None:
            row = await repo.lock_delivery_by_id(tx, callback.delivery_id)
            if row is not None and row.message_sid is None:
                # Only an attempt still unsettled is adopted: a late callback of a message
                # already known undelivered (a re-send is scheduled) changes nothing.
                if await callbacks.adopt_attempt(
                    tx, row.id, callback.attempt_n, callback.message_sid, at=now
                ):
                    sent = SentSms(callback.message_sid, "accepted")
                    await accept(tx, deps, None, row, sent, now)
                row = await repo.lock_delivery_by_id(tx, row.id)
        if row is None or row.message_sid != callback.message_sid:
            logger.info("status callback for an unknown message", extra={"status": callback.status})
            await callbacks.mark(tx, callback_id, applied=False, delivery_id=None)
            return
        with continued_span(f"sms status {callback.status}", row.traceparent):
            if await schedule_resend(
                tx, deps, row, status=callback.status, error_code=callback.error_code, now=now
            ):
                await callbacks.mark(tx, callback_id, applied=True, delivery_id=row.id)
                return
            moved = await advance(
                tx,
                deps,
                None,
                row,
                callback.status,
                callback.error_code,
                now,
                final=resends_spent(deps, row),
            )
            await callbacks.mark(tx, callback_id, applied=moved, delivery_id=row.id)
