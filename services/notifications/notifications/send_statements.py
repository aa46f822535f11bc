"""The send path's common case in two single statements on the direct pool (autocommit).

A first-seen command with a valid number and template, to a phone that has not opted out, and
an accepted send are most of the traffic; through a session each costs a transaction of five to
seven round trips (BEGIN, the statements, COMMIT), which made the database client the
bottleneck of a send. Here each is one statement, atomic on its own:

- :data:`FIRST_ATTEMPT` inserts the delivery (nothing on a duplicate ``delivery_key``) and, in the
  same statement, its attempt 1 as ``sending`` unless the phone is opted out. The row did not
  exist before, so no other worker can have decided anything about it: the lock the general path
  takes is not needed. Anything else (a duplicate, an opt-out) leaves ``attempt_id`` null and the
  caller falls back to the general path (``send_handlers._decide``), which handles every case.
- :data:`RECORD_ACCEPTED` locks the delivery first (every statement and transaction of the send
  path takes the delivery's row before its attempts': a retry's ``NEXT_ATTEMPT`` holding the
  delivery while its insert waited on this attempt's update deadlocked with the reverse order),
  then finishes the attempt, records the SID on the delivery if it has none
  yet (whoever records it first publishes ``sms_sent``: a status callback may have), moves the
  status forward only, and stages ``notification.sms_sent.v1`` in the outbox with its ``NOTIFY``
  — only when the SID was claimed, so the event is published exactly once.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from common.direct_sql import compile_statement
from messaging.outbox import notify_channel
from messaging.subscriber import Delivery
from sqlalchemy import text

from notifications import delivery_events as events
from notifications.delivery_repository import AttemptRow, DeliveryRow
from notifications.deps import Deps
from notifications.sms_outcomes import SentSms
from notifications.sms_status import PENDING, TERMINAL, rank
from notifications.tables import messaging

FIRST_ATTEMPT = compile_statement(
    text(
        "WITH created AS ("
        " INSERT INTO notifications.sms_deliveries (id, delivery_key, reference_kind,"
        " reference_id, template, reply_code, body, phone_key_id, phone_ciphertext, phone_hash,"
        " traceparent, status, status_rank, permanent, failure_reason, created_at, updated_at)"
        " VALUES (:id, :delivery_key, :reference_kind, :reference_id, :template, :reply_code,"
        " :body, :phone_key_id, :phone_ciphertext, :phone_hash, :traceparent, :status,"
        " :status_rank, :permanent, :failure_reason, :created_at, :updated_at)"
        " ON CONFLICT (delivery_key) DO NOTHING"
        " RETURNING id"
        "), attempt AS ("
        " INSERT INTO notifications.sms_attempts (delivery_id, n, started_at, outcome)"
        " SELECT created.id, 1, CAST(:created_at AS timestamptz), 'sending' FROM created"
        " WHERE NOT EXISTS (SELECT 1 FROM notifications.phone_optouts o"
        "  WHERE o.phone_hash = CAST(:phone_hash AS bytea) AND o.opted_out)"
        " RETURNING id"
        ")"
        " SELECT (SELECT id FROM created) AS delivery_id, (SELECT id FROM attempt) AS attempt_id"
    )
)
"""``{delivery_id, attempt_id}``: both set when attempt 1 may be sent now."""

RECORD_ACCEPTED = compile_statement(
    text(
        "WITH delivery AS ("
        " SELECT id FROM notifications.sms_deliveries WHERE id = :delivery_id FOR UPDATE"
        "), attempt AS ("
        " UPDATE notifications.sms_attempts"
        " SET outcome = 'accepted', finished_at = :now, message_sid = :sid"
        " WHERE id = :attempt_id AND EXISTS (SELECT 1 FROM delivery)"
        " RETURNING id"
        "), claimed AS ("
        " UPDATE notifications.sms_deliveries SET message_sid = :sid, updated_at = :now,"
        " status = CASE WHEN status_rank < :rank THEN CAST(:status AS text) ELSE status END,"
        " error_code = CASE WHEN status_rank < :rank THEN NULL ELSE error_code END,"
        " permanent = CASE WHEN status_rank < :rank THEN false ELSE permanent END,"
        " status_rank = GREATEST(status_rank, CAST(:rank AS smallint))"
        " WHERE id = :delivery_id AND message_sid IS NULL"
        " RETURNING id"
        "), event AS ("
        " INSERT INTO notifications.outbox (message_id, message_type, exchange, routing_key,"
        " mandatory, correlation_id, headers, body)"
        " SELECT CAST(:message_id AS uuid), CAST(:message_type AS varchar),"
        " CAST(:exchange AS varchar), CAST(:routing_key AS varchar), CAST(:mandatory AS boolean),"
        " CAST(:correlation_id AS varchar), CAST(:headers AS jsonb), CAST(:event_body AS bytea)"
        " FROM claimed"
        " RETURNING pg_notify(CAST(:channel AS text), '')"
        ")"
        " SELECT (SELECT count(*) FROM attempt) AS attempts,"
        " (SELECT count(*) FROM event) AS events"
    )
)
"""``{attempts, events}``: ``events`` is 1 when this send published ``sms_sent``."""

OUTBOX_CHANNEL = notify_channel(messaging.outbox)


async def start_first_attempt(
    deps: Deps, values: dict[str, Any]
) -> tuple[DeliveryRow, AttemptRow] | None:
    """Creates the delivery of ``values`` (``send_handlers._new_delivery``) with its attempt 1;
    None when that is not the case to handle here (the general path decides)."""
    if values["status"] != PENDING:
        return None  # failed at birth: the general path records it and publishes sms_failed
    found = await deps.uow.direct(FIRST_ATTEMPT, values)
    if found is None or found["attempt_id"] is None:
        return None
    row = DeliveryRow.of({**values, "message_sid": None, "resends": 0})
    return row, AttemptRow(found["attempt_id"], 1, values["created_at"], "sending", None)


async def record_accepted(
    deps: Deps,
    cause: Delivery[Deps],
    row: DeliveryRow,
    attempt: AttemptRow,
    sent: SentSms,
    now: datetime,
) -> bool:
    """The send's acceptance in one statement; False (nothing written) for a terminal status,
    whose events the general path (``delivery_progress.accept``) publishes."""
    if sent.status in TERMINAL:
        return False
    [event_row], _ = deps.outbox.rows(
        [events.sent_event(row, "accepted", now)],
        correlation_id=cause.envelope.correlation_id,
        causation_id=str(cause.message_id),
    )
    params: dict[str, Any] = {
        "attempt_id": attempt.id,
        "delivery_id": row.id,
        "sid": sent.sid,
        "status": sent.status,
        "rank": rank(sent.status),
        "now": now,
        "message_id": event_row["message_id"],
        "message_type": event_row["message_type"],
        "exchange": event_row["exchange"],
        "routing_key": event_row["routing_key"],
        "mandatory": event_row["mandatory"],
        "correlation_id": event_row["correlation_id"],
        "headers": json.dumps(event_row["headers"]),
        "event_body": event_row["body"],
        "channel": OUTBOX_CHANNEL,
    }
    await deps.uow.direct(RECORD_ACCEPTED, params)
    return True
