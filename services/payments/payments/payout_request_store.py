"""The statements of a payout's phase 1 on the direct asyncpg pool (``common.direct_sql``).

In the caller's ``uow.direct_transaction()``, after the key's claim:

1. :data:`LOCK_ACCOUNT`: the driver's payout account ``FOR UPDATE`` (payouts of one driver
   queue here, so the next statement sees what the one before committed);
2. :data:`OPEN_PAYOUT`: the driver's open payout, if any (a separate statement: it reads with
   a snapshot taken after the lock was granted);
3. the debit (``ledger_repository.post_direct``);
4. :data:`INSERT_PENDING`: the payout ``pending``, its first transition and the
   ``payments.payouts.execute`` command in the outbox (with the NOTIFY that wakes the relay),
   one data-modifying statement; the partial unique index ``payouts_one_open_per_driver``
   still refuses a second open payout (:data:`OPEN_PAYOUT_INDEX`).

The outbox row is ``Outbox.rows``'s, as ``Outbox.add`` would write it on the engine.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from common.direct_sql import DirectTransaction, compile_statement
from messaging.outbox import notify_channel
from sqlalchemy import text

from payments import tables

OPEN_PAYOUT_INDEX = "payouts_one_open_per_driver"

_OUTBOX = tables.messaging.outbox

LOCK_ACCOUNT = compile_statement(
    text(
        "SELECT stripe_account_id, payouts_enabled FROM payments.payout_accounts"
        " WHERE driver_id = CAST(:driver_id AS uuid) FOR UPDATE"
    )
)

OPEN_PAYOUT = compile_statement(
    text(
        "SELECT id FROM payments.payouts WHERE driver_id = CAST(:driver_id AS uuid)"
        " AND status IN ('pending', 'unknown', 'frozen')"
    )
)

INSERT_PENDING = compile_statement(
    text(
        "WITH payout AS ("
        " INSERT INTO payments.payouts (id, driver_id, nova_amount, rate_minor_per_nova,"
        " amount_minor, currency, destination_account, status, stripe_idempotency_key,"
        " stripe_request, transfer_group, debit_tx_id, retry_of, next_reconcile_at)"
        " VALUES (CAST(:payout_id AS uuid), CAST(:driver_id AS uuid), CAST(:nova AS bigint),"
        " CAST(:rate AS numeric), CAST(:amount_minor AS bigint), CAST(:currency AS text),"
        " CAST(:destination AS text), 'pending', CAST(:stripe_key AS text),"
        " CAST(:stripe_request AS jsonb), CAST(:transfer_group AS text),"
        " CAST(:debit_tx_id AS uuid), CAST(:retry_of AS uuid),"
        " now() + make_interval(secs => CAST(:stale_seconds AS double precision)))"
        " RETURNING id"
        "), transition AS ("
        " INSERT INTO payments.payout_transitions"
        " (payout_id, from_status, to_status, reason, actor, details)"
        " SELECT id, NULL, 'pending', 'requested', 'driver', '{}'::jsonb FROM payout"
        "), staged AS ("
        f" INSERT INTO {_OUTBOX.schema}.{_OUTBOX.name} (message_id, message_type, exchange,"
        " routing_key, mandatory, correlation_id, headers, body)"
        " SELECT CAST(:message_id AS uuid), CAST(:message_type AS text),"
        " CAST(:exchange AS text), CAST(:routing_key AS text), CAST(:mandatory AS boolean),"
        " CAST(:correlation_id AS text), CAST(:headers AS jsonb), CAST(:body AS bytea)"
        " FROM payout"
        f" RETURNING pg_notify('{notify_channel(_OUTBOX)}', '')"
        ")"
        " SELECT (SELECT count(*) FROM staged) AS staged"
    )
)


@dataclass(frozen=True, slots=True)
class LockedAccount:
    stripe_account_id: str
    payouts_enabled: bool


async def lock_account(tx: DirectTransaction, driver_id: uuid.UUID) -> LockedAccount | None:
    row = await tx.fetchrow(LOCK_ACCOUNT, {"driver_id": driver_id})
    return None if row is None else LockedAccount(row["stripe_account_id"], row["payouts_enabled"])


async def open_payout_of(tx: DirectTransaction, driver_id: uuid.UUID) -> uuid.UUID | None:
    row = await tx.fetchrow(OPEN_PAYOUT, {"driver_id": driver_id})
    return None if row is None else uuid.UUID(str(row["id"]))


@dataclass(frozen=True, slots=True)
class PendingPayout:
    payout_id: uuid.UUID
    driver_id: uuid.UUID
    nova: int
    rate: Decimal
    amount_minor: int
    currency: str
    destination: str
    stripe_request: str
    transfer_group: str
    stripe_key: str
    debit_tx_id: uuid.UUID
    stale_seconds: float
    retry_of: uuid.UUID | None


async def insert_pending(
    tx: DirectTransaction, payout: PendingPayout, outbox_row: Mapping[str, Any]
) -> None:
    """Raises ``asyncpg.UniqueViolationError`` naming :data:`OPEN_PAYOUT_INDEX` when the
    driver has an open payout."""
    row = await tx.fetchrow(
        INSERT_PENDING,
        {
            "payout_id": payout.payout_id,
            "driver_id": payout.driver_id,
            "nova": payout.nova,
            "rate": payout.rate,
            "amount_minor": payout.amount_minor,
            "currency": payout.currency,
            "destination": payout.destination,
            "stripe_key": payout.stripe_key,
            "stripe_request": payout.stripe_request,
            "transfer_group": payout.transfer_group,
            "debit_tx_id": payout.debit_tx_id,
            "retry_of": payout.retry_of,
            "stale_seconds": payout.stale_seconds,
            **outbox_row,
            "headers": json.dumps(outbox_row["headers"]),
        },
    )
    if row is None or row["staged"] != 1:
        raise RuntimeError("the payout's execute command was not staged")
