"""Use cases behind the consumers: SMS delivery reports and merchants' replies.

Each runs in one transaction with its inbox row (a duplicate delivery changes nothing) and
tolerates out-of-order delivery: every write is a guarded update, so a late "delivered" after
completion, or a reply to a session that already ended, matches no row and is only counted.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from sessions import completion_handlers
from sessions import session_repository as repo
from sessions.contracts import (
    SESSION_REFERENCE_KIND,
    Reference,
    SmsDeliveredReader,
    SmsFailedReader,
    SmsReplyReceivedReader,
    SmsStatusReader,
)
from sessions.deps import Deps
from sessions.messages import SmsPurpose
from sessions.offer_codes import normalise_reply_code
from sessions.session_states import OPEN, ConfirmedVia, NotifyStatus, SessionStatus

NOTIFYING = (SmsPurpose.ARRIVAL, SmsPurpose.RENOTIFY)


class ReplyOutcome(StrEnum):
    COMPLETED = "completed"
    UNMATCHED = "unmatched"
    STALE = "stale"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"


def session_id_of(reference: Reference | None) -> uuid.UUID | None:
    if reference is None or reference.kind != SESSION_REFERENCE_KIND:
        return None
    try:
        return uuid.UUID(reference.id)
    except ValueError:
        return None


def purpose_of(delivery_key: str) -> str:
    return delivery_key.rpartition(":")[2]


async def record_sms_status(
    deps: Deps,
    event: SmsStatusReader,
    *,
    consumer: str,
    message_id: uuid.UUID,
    follow_up: Mapping[str, Any],
) -> bool:
    """True when the report changed a session."""
    kind = type(event).message_type.split(".")[1]
    session_id = session_id_of(event.reference)
    changed = False
    async with deps.uow() as tx:
        if not await deps.inbox.claim(tx, consumer, message_id):
            return False
        notifying = purpose_of(event.delivery_key) in NOTIFYING
        if session_id is not None and notifying:
            if isinstance(event, SmsDeliveredReader):
                changed = (
                    await repo.transition(
                        tx,
                        session_id,
                        sources=(SessionStatus.ARRIVED,),
                        set_sql=(
                            "status = 'merchant_notified', merchant_notified_at = now(), "
                            "notify_status = :notify"
                        ),
                        params={"notify": NotifyStatus.DELIVERED.value},
                        require_unexpired=False,
                    )
                    is not None
                )
            elif isinstance(event, SmsFailedReader) and event.permanent:
                changed = (
                    await repo.transition(
                        tx,
                        session_id,
                        sources=OPEN,
                        set_sql="notify_status = :notify",
                        params={"notify": NotifyStatus.MERCHANT_UNREACHABLE.value},
                        require_unexpired=False,
                    )
                    is not None
                )
    deps.metrics.sms_status.labels(kind, "applied" if changed else "no_change").inc()
    return changed


async def record_sms_reply(
    deps: Deps,
    reply: SmsReplyReceivedReader,
    *,
    consumer: str,
    message_id: uuid.UUID,
    follow_up: Mapping[str, Any],
) -> ReplyOutcome:
    outcome = await _apply_reply(deps, reply, consumer, message_id, follow_up)
    deps.metrics.sms_replies.labels(outcome.value).inc()
    if outcome is ReplyOutcome.COMPLETED:
        deps.metrics.completed.labels(ConfirmedVia.SMS.value).inc()
    return outcome


async def _apply_reply(
    deps: Deps,
    reply: SmsReplyReceivedReader,
    consumer: str,
    message_id: uuid.UUID,
    follow_up: Mapping[str, Any],
) -> ReplyOutcome:
    async with deps.uow() as tx:
        if not await deps.inbox.claim(tx, consumer, message_id):
            return ReplyOutcome.DUPLICATE
        if reply.keyword.lower() != "done":
            return ReplyOutcome.IGNORED
        session_id = session_id_of(reply.reference)
        code = normalise_reply_code(reply.reply_code)
        if session_id is None or (reply.reply_code is not None and code is None):
            return ReplyOutcome.UNMATCHED
        done = await completion_handlers.complete_by_sms(
            tx, deps, session_id=session_id, reply_code=code, follow_up=follow_up
        )
        return ReplyOutcome.COMPLETED if done is not None else ReplyOutcome.STALE
