"""An activation's common case in one round trip: one autocommit statement on the direct pool.

A data-modifying CTE inserts the new session (the same ``INSERT … SELECT`` as
:func:`sessions.session_repository.insert_open`: an active merchant within walking distance of
the charger, billing terms copied from the merchant) and, only when that inserted a row, the
session's ``session.activated.v1`` outbox row with the NOTIFY that wakes the relay. One statement
is one transaction: the session and its event commit together or not at all.

``ON CONFLICT DO NOTHING`` names no target, so any unique index stops the insert: the driver's
open session at this merchant (the partial unique index that turns racing activations into one
session), or an offer or reply code another open session holds. The statement then returns no
row, stages nothing, and the caller takes the transactional path, which tells these cases apart
(200 with the open session, new codes, 404/422 for an unknown or distant merchant).

The statement runs through ``deps.uow.direct`` (``common.direct_sql``): the engine's connection
wrapper, greenlet hop and transaction bookkeeping cost several times the statement itself.
The envelope comes from the outbox (``Outbox.rows``); its ``data.expires_at`` is set by the
statement from the inserted row, so it is the database clock's like every time of a session.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from common.direct_sql import compile_statement
from sqlalchemy import text

from sessions import tables
from sessions.deps import SessionsUnitOfWork
from sessions.geo import MEAN_EARTH_RADIUS_M
from sessions.records import ExclusiveSession
from sessions.session_repository import COLUMNS, INSERT_OPEN_SQL, to_session

_NOTIFY_CHANNEL = f"nerava_outbox_{tables.messaging.outbox.schema}"

ACTIVATE = compile_statement(
    text(
        f"""
        WITH inserted AS (
            {INSERT_OPEN_SQL}
            ON CONFLICT DO NOTHING
            RETURNING {COLUMNS}
        ), staged AS (
            INSERT INTO outbox (message_id, message_type, exchange, routing_key, mandatory,
                correlation_id, headers, body)
            SELECT :message_id, :message_type, :exchange, :routing_key, :mandatory,
                :correlation_id, CAST(:headers AS jsonb),
                convert_to(jsonb_set(CAST(:body AS jsonb), '{{data,expires_at}}',
                                     to_jsonb(inserted.expires_at))::text, 'UTF8')
            FROM inserted
            RETURNING pg_notify('{_NOTIFY_CHANNEL}', '')
        )
        SELECT inserted.*, (SELECT count(*) FROM staged) AS staged FROM inserted
        """
    )
)


async def insert_open(
    uow: SessionsUnitOfWork,
    *,
    session_id: uuid.UUID,
    user_id: uuid.UUID,
    merchant_id: uuid.UUID,
    charger_id: uuid.UUID,
    offer_code: str,
    reply_code: str,
    ttl_seconds: int,
    walking_m: float,
    outbox_row: Mapping[str, Any],
) -> ExclusiveSession | None:
    """The new session with its event staged, or None when nothing was inserted (an open
    session or a code in the way, or no such active merchant near the charger)."""
    row = await uow.direct(
        ACTIVATE,
        {
            "id": session_id,
            "user_id": user_id,
            "merchant_id": merchant_id,
            "charger_id": charger_id,
            "offer_code": offer_code,
            "reply_code": reply_code,
            "ttl_seconds": ttl_seconds,
            "walking_m": walking_m,
            "mean_radius": MEAN_EARTH_RADIUS_M,
            **outbox_row,
            "headers": json.dumps(outbox_row["headers"]),
            "body": outbox_row["body"].decode(),
        },
    )
    return to_session(row) if row is not None else None
