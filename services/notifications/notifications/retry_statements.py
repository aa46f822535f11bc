"""A retried send's common case in single statements on the direct pool (autocommit).

A retry (the command back from a tier of the send queue's schedule) went through three
transactions of the general path: decide, settle the looked-up attempt, record the failure —
about fifteen round trips through the ORM, most of a retry's CPU, taken from the fresh sends
the same process serves while a Twilio outage cycles its backlog through the tiers. Here each
step is one statement:

- :data:`SNAPSHOT` reads the delivery, its latest attempt and the phone's opt-out (no lock: the
  caller decides from it with ``send_decision.next_step``, and each write below re-checks
  what it relies on);
- :data:`NEXT_ATTEMPT` starts attempt ``n`` while the delivery is ``pending`` (row-locked for
  the statement, so it waits for a status callback or the general path holding it) and the
  phone has not opted out; the unique ``(delivery_id, n)`` lets only one of two racing copies
  start it;
- :data:`RESEND_AFTER_LOOKUP` does the same once Twilio was asked for the unsettled attempt
  ``n - 1`` and had nothing: that attempt becomes ``not_sent`` and attempt ``n`` starts, both or
  neither, and only while attempt ``n - 1`` is still unsettled;
- :data:`FINISH_ATTEMPT` records a failed attempt that leaves the delivery as it is (a retry
  follows).

Whatever they do not cover (no delivery yet, a status other than ``pending``, an opt-out, a
guard that did not hold) returns None and the caller takes the general path, which decides
again under the row lock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from common.direct_sql import compile_statement
from sqlalchemy import text

from notifications.delivery_repository import FINISH_ATTEMPT as FINISH_ATTEMPT_STATEMENT
from notifications.delivery_repository import AttemptRow, DeliveryRow
from notifications.deps import Deps
from notifications.sms_status import PENDING

SNAPSHOT = compile_statement(
    text(
        "SELECT d.id, d.delivery_key, d.reference_kind, d.reference_id, d.body, d.phone_key_id,"
        " d.phone_ciphertext, d.phone_hash, d.status, d.status_rank, d.message_sid, d.resends,"
        " d.reply_code, d.traceparent,"
        " last.id AS attempt_id, last.n AS attempt_n, last.started_at AS attempt_started_at,"
        " last.outcome AS attempt_outcome, last.message_sid AS attempt_message_sid,"
        " EXISTS (SELECT 1 FROM notifications.phone_optouts o"
        "  WHERE o.phone_hash = d.phone_hash AND o.opted_out) AS opted_out"
        " FROM notifications.sms_deliveries d"
        " LEFT JOIN LATERAL (SELECT a.id, a.n, a.started_at, a.outcome, a.message_sid"
        "  FROM notifications.sms_attempts a WHERE a.delivery_id = d.id"
        "  ORDER BY a.n DESC LIMIT 1) last ON true"
        " WHERE d.delivery_key = :delivery_key"
    )
)
"""The delivery of ``delivery_key`` with its latest attempt and ``opted_out``; no row if none."""

_STILL_PENDING = (
    "pending AS ("
    " SELECT d.id FROM notifications.sms_deliveries d"
    " WHERE d.id = :delivery_id AND d.status = 'pending'"
    " AND NOT EXISTS (SELECT 1 FROM notifications.phone_optouts o"
    "  WHERE o.phone_hash = d.phone_hash AND o.opted_out)"
    " FOR UPDATE OF d)"
)

NEXT_ATTEMPT = compile_statement(
    text(
        f"WITH {_STILL_PENDING}, attempt AS ("
        " INSERT INTO notifications.sms_attempts (delivery_id, n, started_at, outcome)"
        " SELECT id, :n, :now, 'sending' FROM pending"
        " ON CONFLICT (delivery_id, n) DO NOTHING"
        " RETURNING id"
        ")"
        " SELECT (SELECT id FROM attempt) AS attempt_id"
    )
)
"""``{attempt_id}``: set when attempt ``n`` was started by this statement."""

RESEND_AFTER_LOOKUP = compile_statement(
    text(
        f"WITH {_STILL_PENDING}, settled AS ("
        " UPDATE notifications.sms_attempts"
        " SET outcome = 'not_sent', finished_at = COALESCE(finished_at, :now)"
        " WHERE id = :looked_up AND delivery_id IN (SELECT id FROM pending)"
        " AND outcome IN ('sending', 'unknown')"
        " RETURNING delivery_id"
        "), attempt AS ("
        " INSERT INTO notifications.sms_attempts (delivery_id, n, started_at, outcome)"
        " SELECT delivery_id, :n, :now, 'sending' FROM settled"
        " ON CONFLICT (delivery_id, n) DO NOTHING"
        " RETURNING id"
        ")"
        " SELECT (SELECT id FROM attempt) AS attempt_id"
    )
)
"""``{attempt_id}``: set when the looked-up attempt was settled and attempt ``n`` started."""

FINISH_ATTEMPT = compile_statement(FINISH_ATTEMPT_STATEMENT)


async def snapshot(
    deps: Deps, delivery_key: str
) -> tuple[DeliveryRow, AttemptRow | None, bool] | None:
    """The ``pending`` delivery of ``delivery_key``, its latest attempt and whether its phone
    opted out; None for a delivery in another state, or none (the general path's)."""
    found = await deps.uow.direct(SNAPSHOT, {"delivery_key": delivery_key})
    if found is None or found["status"] != PENDING:
        return None
    return DeliveryRow.of(found), _attempt(found), bool(found["opted_out"])


async def start_next(
    deps: Deps, row: DeliveryRow, last: AttemptRow | None, now: datetime
) -> AttemptRow | None:
    """Attempt ``last.n + 1`` (or 1), or None when a guard did not hold."""
    n = last.n + 1 if last else 1
    found = await deps.uow.direct(NEXT_ATTEMPT, {"delivery_id": row.id, "n": n, "now": now})
    return _started(found, n, now)


async def resend_after_lookup(
    deps: Deps, row: DeliveryRow, looked_up: AttemptRow, now: datetime
) -> AttemptRow | None:
    """``looked_up`` never reached Twilio: settled ``not_sent``, and the next attempt started;
    None when a guard did not hold."""
    n = looked_up.n + 1
    params = {"delivery_id": row.id, "looked_up": looked_up.id, "n": n, "now": now}
    found = await deps.uow.direct(RESEND_AFTER_LOOKUP, params)
    return _started(found, n, now)


async def finish_failed(
    deps: Deps,
    attempt: AttemptRow,
    *,
    outcome: str,
    finished_at: datetime,
    http_status: int | None,
    error_code: int | None,
) -> None:
    await deps.uow.direct(
        FINISH_ATTEMPT,
        {
            "attempt": attempt.id,
            "new_outcome": outcome,
            "new_finished_at": finished_at,
            "new_message_sid": None,
            "new_http_status": http_status,
            "new_error_code": error_code,
        },
    )


def _started(found: Any, n: int, now: datetime) -> AttemptRow | None:
    if found is None or found["attempt_id"] is None:
        return None
    return AttemptRow(found["attempt_id"], n, now, "sending", None)


def _attempt(found: Any) -> AttemptRow | None:
    if found["attempt_id"] is None:
        return None
    return AttemptRow(
        found["attempt_id"],
        found["attempt_n"],
        found["attempt_started_at"],
        found["attempt_outcome"],
        found["attempt_message_sid"],
    )
