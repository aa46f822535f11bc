"""Use case: send the SMS a ``notifications.sms.send`` command asks for, once per delivery key.

No transaction is open while Twilio is called. The common cases are single statements on the
direct pool: a first-seen command sent and accepted (``send_statements``), and a retry of a
pending delivery (``retry_statements``: its snapshot, its next attempt, a failure that leaves it
pending); everything else, and any of their guards that does not hold, takes the general path.
One delivery goes through:

1. **decide** (delivery row locked): create the delivery the first time its key is seen, then
   pick one of: nothing to do (accepted or finished already), fail at once (opted-out phone,
   invalid number or template), retry later (another worker's attempt is in flight), reconcile
   (an earlier attempt's outcome is unknown), or send (a new attempt row, committed first);
2. **reconcile**: ask Twilio for the earlier attempt (its reference mark in the body) and adopt
   it, or record that it never went out and send;
3. **send** through the sender port, outside any transaction;
4. **record** (one commit): the attempt's outcome, the delivery's state and its event.

Retryable failures raise ``TransientError`` (the queue's schedule: 5s, 30s, 2m, 10m, 30m); a
configuration error raises ``PermanentError`` (straight to the DLQ). On the last scheduled
attempt the delivery becomes ``dead_lettered`` and ``notification.sms_failed.v1`` (permanent
false) tells the session; a replay from the DLQ resumes the same delivery, reconciling first.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from common.telemetry import current_traceparent
from messaging.failures import PermanentError, TransientError
from messaging.subscriber import Delivery
from sqlalchemy.ext.asyncio import AsyncSession

from notifications import delivery_events as events
from notifications import delivery_repository as repo
from notifications import retry_statements, send_statements
from notifications.contracts import SendSms
from notifications.delivery_progress import accept, fail_permanently
from notifications.delivery_repository import AttemptRow, DeliveryRow
from notifications.deps import Deps
from notifications.send_decision import NextStep, next_step
from notifications.sms_outcomes import (
    OutgoingSms,
    SendError,
    SmsConfigurationError,
    SmsLookupFailed,
    SmsNotSent,
    SmsRejected,
)
from notifications.sms_status import (
    DEAD_LETTERED,
    OPTED_OUT_CODE,
    PENDING,
    rank,
)
from notifications.templates import TemplateError, reference_mark, render

logger = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass(frozen=True)
class _Send:
    delivery: DeliveryRow
    attempt: AttemptRow


@dataclass(frozen=True)
class _Reconcile:
    delivery: DeliveryRow
    attempt: AttemptRow


class _General:
    """The general path decides: the direct statements' case or guards did not hold."""


_GENERAL = _General()


async def send_sms(deps: Deps, delivery: Delivery[Deps], command: SendSms) -> None:
    last_try = delivery.attempt >= deps.send_policy.max_failures
    step: _Send | _Reconcile | _General | None = (
        await _first_attempt(deps, command)
        if delivery.attempt == 0
        else await _retry_step(deps, command)
    )
    if step is _GENERAL:
        step = await _decide(deps, delivery, command)
    if isinstance(step, _Reconcile):
        step = await _reconcile(deps, delivery, step)
    if not isinstance(step, _Send):
        return
    try:
        sent = await deps.sender.send(_outgoing(deps, step))
    except SendError as exc:
        await _record_failure(deps, delivery, step, exc, last_try=last_try)
        return
    now = deps.clock()
    if await send_statements.record_accepted(
        deps, delivery, step.delivery, step.attempt, sent, now
    ):
        return
    async with deps.uow() as tx:
        await repo.lock_delivery_by_id(tx, step.delivery.id)  # the delivery before its attempt
        await repo.finish_attempt(
            tx, step.attempt.id, outcome="accepted", finished_at=now, message_sid=sent.sid
        )
        await accept(tx, deps, delivery, step.delivery, sent, now)


async def _first_attempt(deps: Deps, command: SendSms) -> _Send | _General:
    """A first try: the delivery and its attempt 1 in one statement when that is the case."""
    first = await send_statements.start_first_attempt(
        deps, _new_delivery(deps, command, deps.clock())
    )
    return _GENERAL if first is None else _Send(*first)


async def _retry_step(deps: Deps, command: SendSms) -> _Send | _Reconcile | _General:
    """A retry of a pending delivery, decided from a snapshot by guarded statements."""
    found = await retry_statements.snapshot(deps, command.delivery_key)
    if found is None:
        return _GENERAL
    row, last, opted_out = found
    now = deps.clock()
    step = next_step(row.status_rank, opted_out, last, now, deps.send_policy.attempt_lease)
    if step is NextStep.RECONCILE and last is not None:
        return _Reconcile(row, last)
    if step is NextStep.SEND:
        attempt = await retry_statements.start_next(deps, row, last, now)
        return _GENERAL if attempt is None else _Send(row, attempt)
    return _GENERAL


async def _decide(
    deps: Deps, delivery: Delivery[Deps], command: SendSms
) -> _Send | _Reconcile | None:
    """The general path: the delivery created if need be, then decided under its row lock."""
    now = deps.clock()
    async with deps.uow() as tx:
        created = await repo.insert_delivery(tx, _new_delivery(deps, command, now))
        row = await repo.lock_delivery(tx, command.delivery_key)
        if created and row.status == "failed":
            await events.failed(tx, deps, delivery, row, now, code=None, permanent=True)
            return None
        opted_out = row.status_rank < 0 and await repo.is_opted_out(tx, row.phone_hash)
        last = await repo.latest_attempt(tx, row.id) if row.status_rank < 0 else None
        step = next_step(row.status_rank, opted_out, last, now, deps.send_policy.attempt_lease)
        if step is NextStep.NOTHING:
            return None  # a duplicate command: the SMS is accepted, delivered or failed already
        if step is NextStep.OPTED_OUT:
            await fail_permanently(
                tx, deps, delivery, row, now, reason="opted_out", code=OPTED_OUT_CODE
            )
            return None
        if step is NextStep.RECONCILE and last is not None:
            return _Reconcile(row, last)
        return await _next_attempt(tx, row, last, now)


async def _next_attempt(
    tx: AsyncSession, row: DeliveryRow, last: AttemptRow | None, now: datetime
) -> _Send:
    attempt = await repo.start_attempt(tx, row.id, last.n + 1 if last else 1, now)
    if row.status == DEAD_LETTERED:  # a replay from the DLQ resumes the delivery
        await repo.set_state(tx, row.id, status=PENDING, rank=rank(PENDING), at=now)
    return _Send(row, attempt)


async def _reconcile(deps: Deps, delivery: Delivery[Deps], step: _Reconcile) -> _Send | None:
    row = step.delivery
    to = deps.phones.open(row.phone_key_id, row.phone_ciphertext)
    try:
        found = await deps.sender.find(
            to=to, mark=reference_mark(row.id), since=step.attempt.started_at
        )
    except SmsLookupFailed as exc:
        raise TransientError("could not look the earlier attempt up; never resend blind") from exc
    if found is None:
        attempt = await retry_statements.resend_after_lookup(deps, row, step.attempt, deps.clock())
        if attempt is not None:
            return _Send(row, attempt)
    async with deps.uow() as tx:  # the general path decides again, under the row lock
        now = deps.clock()
        current = await repo.lock_delivery_by_id(tx, row.id)
        latest = await repo.latest_attempt(tx, row.id)
        if current is None or current.status_rank >= 0:
            return None  # a status callback adopted the message meanwhile
        if latest is None or latest.id != step.attempt.id:
            raise TransientError("the delivery moved on while it was looked up; decide again")
        if found is not None:
            logger.info("earlier attempt found at twilio; adopted", extra=_log(row, latest.n))
            await repo.resolve_attempt(
                tx, latest.id, outcome="adopted", at=now, message_sid=found.sid
            )
            await accept(tx, deps, delivery, current, found, now)
            return None
        await repo.resolve_attempt(tx, latest.id, outcome="not_sent", at=now)
        return await _next_attempt(tx, current, latest, now)


def _outgoing(deps: Deps, step: _Send) -> OutgoingSms:
    row = step.delivery
    base = deps.send_policy.public_base_url
    callback = (
        f"{base.rstrip('/')}/v1/webhooks/twilio/status?d={row.id}&n={step.attempt.n}"
        if base
        else None
    )
    return OutgoingSms(
        to=deps.phones.open(row.phone_key_id, row.phone_ciphertext),
        body=row.body,
        status_callback=callback,
    )


async def _record_failure(
    deps: Deps,
    delivery: Delivery[Deps],
    step: _Send,
    exc: SendError,
    *,
    last_try: bool,
) -> None:
    row, attempt = step.delivery, step.attempt
    now = deps.clock()
    outcome, retry = _failure(exc)
    if isinstance(retry, TransientError) and not last_try:  # the delivery stays as it is
        await retry_statements.finish_failed(
            deps,
            attempt,
            outcome=outcome,
            finished_at=now,
            http_status=exc.http_status,
            error_code=exc.code,
        )
    else:
        await _record_final_failure(deps, delivery, step, exc, outcome, now)
    logger.warning(
        "sms attempt %s",
        outcome,
        extra=_log(row, attempt.n) | {"http_status": exc.http_status, "twilio_code": exc.code},
    )
    if retry is not None:
        raise retry


def _failure(exc: SendError) -> tuple[str, Exception | None]:
    """The attempt's outcome, and what the broker does with the command (None: nothing)."""
    if isinstance(exc, SmsRejected):
        return "failed", None
    if isinstance(exc, SmsConfigurationError):
        return "failed", PermanentError(f"twilio configuration error (code {exc.code})")
    if isinstance(exc, SmsNotSent):
        return "not_sent", TransientError("sms not sent", retry_after=exc.retry_after)
    return "unknown", TransientError("sms send outcome unknown; the next attempt looks it up")


async def _record_final_failure(
    deps: Deps,
    delivery: Delivery[Deps],
    step: _Send,
    exc: SendError,
    outcome: str,
    now: datetime,
) -> None:
    """A failure that ends the delivery: rejected, a configuration error, or the last try."""
    row, attempt = step.delivery, step.attempt
    async with deps.uow() as tx:
        await repo.lock_delivery_by_id(tx, row.id)  # the delivery before its attempt
        await repo.finish_attempt(
            tx,
            attempt.id,
            outcome=outcome,
            finished_at=now,
            http_status=exc.http_status,
            error_code=exc.code,
        )
        if isinstance(exc, SmsRejected):
            await fail_permanently(tx, deps, delivery, row, now, reason="rejected", code=exc.code)
            if exc.code == OPTED_OUT_CODE:
                await repo.set_opt_out(tx, row.phone_hash, opted_out=True, at=now)
        else:  # to the DLQ: ops fix the cause and replay, which resumes the delivery
            await repo.set_state(
                tx,
                row.id,
                status=DEAD_LETTERED,
                rank=rank(DEAD_LETTERED),
                at=now,
                error_code=exc.code,
                failure_reason=outcome,
            )
            await events.failed(tx, deps, delivery, row, now, code=exc.code, permanent=False)


def _new_delivery(deps: Deps, command: SendSms, now: datetime) -> dict[str, object]:
    """The row of a first-seen command; an invalid number or template is failed at birth."""
    delivery_id = uuid.uuid4()
    sealed = deps.phones.seal(command.to)
    status, reason, body = PENDING, None, ""
    if not E164.match(command.to):
        status, reason = "failed", "invalid_number"
    else:
        try:
            body = render(
                command.template,
                command.params,
                reply_code=command.reply_code,
                mark=reference_mark(delivery_id),
            )
        except TemplateError:
            status, reason = "failed", "invalid_template"
    return {
        "id": delivery_id,
        "delivery_key": command.delivery_key,
        "reference_kind": command.reference.kind,
        "reference_id": command.reference.id,
        "template": command.template,
        "reply_code": command.reply_code,
        "body": body,
        "phone_key_id": sealed.key_id,
        "phone_ciphertext": sealed.ciphertext,
        "phone_hash": sealed.lookup_hash,
        "traceparent": current_traceparent(),
        "status": status,
        "status_rank": rank(status),
        "permanent": status == "failed",
        "failure_reason": reason,
        "created_at": now,
        "updated_at": now,
    }


def _log(row: DeliveryRow, attempt: int) -> dict[str, object]:
    return {"delivery_id": str(row.id), "attempt": attempt}
