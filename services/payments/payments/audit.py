"""The hash-chained audit log: one row per money movement and admin action, written in the
same transaction as the change (``audit_append`` in SQL), and the chain verification.

Each row's hash is ``sha256(previous hash || canonical row)``, computed by the database
function ``audit_row_hash`` for both writing and verifying, so the two cannot disagree.
The log is 16 independent chains (chosen by actor) so unrelated movements do not queue behind
one lock; ``audit_append`` takes its chain's transaction-scoped advisory lock: call
:func:`append` (:func:`append_direct` in a transaction on the direct pool) as the last
statement before commit, so the lock is held for the shortest time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from common.direct_sql import DirectTransaction, compile_statement
from common.request_context import current_request_id
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


@dataclass(frozen=True, slots=True)
class AuditRecord:
    actor_type: str
    actor_id: str
    action: str
    resource_type: str
    resource_id: str
    idempotency_key: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None


APPEND_CALL = (
    "payments.audit_append(:actor_type, :actor_id, :action, :resource_type,"
    " :resource_id, :request_id, :idempotency_key, CAST(:details AS jsonb))"
)
"""The call that appends one row (parameters: :func:`append_params`), for composed statements."""

_APPEND = text(f"SELECT {APPEND_CALL}")


APPEND_DIRECT = compile_statement(_APPEND)
"""``audit_append`` compiled for the direct pool (parameters: :func:`append_params`)."""


def append_params(record: AuditRecord) -> dict[str, Any]:
    return {
        "actor_type": record.actor_type,
        "actor_id": record.actor_id,
        "action": record.action,
        "resource_type": record.resource_type,
        "resource_id": record.resource_id,
        "request_id": record.request_id or current_request_id(),
        "idempotency_key": record.idempotency_key,
        "details": json.dumps(record.details, default=str),
    }


async def append(tx: AsyncSession, record: AuditRecord) -> int:
    """Appends ``record`` in ``tx``; returns its id. A rollback removes it with the change."""
    result = await tx.execute(_APPEND, append_params(record))
    return int(result.scalar_one())


async def append_direct(tx: DirectTransaction, record: AuditRecord) -> int:
    """:func:`append` in a transaction on the direct pool."""
    row = await tx.fetchrow(APPEND_DIRECT, append_params(record))
    if row is None:
        raise RuntimeError("audit_append returned no row")
    return int(row[0])


@dataclass(frozen=True, slots=True)
class ChainReport:
    checked: int
    first_bad_id: int | None
    problem: str | None

    @property
    def intact(self) -> bool:
        return self.first_bad_id is None


_VERIFY = text(
    "SELECT id, prev_hash, hash,"
    " lag(hash) OVER (PARTITION BY chain ORDER BY id) AS expected_prev,"
    " payments.audit_row_hash(prev_hash, id, chain, occurred_at, actor_type, actor_id, action,"
    "   resource_type, resource_id, request_id, idempotency_key, details) AS recomputed,"
    " row_number() OVER (PARTITION BY chain ORDER BY id) AS position"
    " FROM payments.audit_log ORDER BY id"
)


async def verify_chain(conn: AsyncConnection) -> ChainReport:
    """Walks every chain; names the first row (by id) whose content or link does not match."""
    checked = 0
    result = await conn.stream(_VERIFY)
    async for row in result:
        checked += 1
        if row.position > 1 and row.prev_hash != row.expected_prev:
            return ChainReport(checked, row.id, "previous-hash link broken")
        if row.position == 1 and row.prev_hash is not None:
            return ChainReport(checked, row.id, "first row points to a missing predecessor")
        if row.hash != row.recomputed:
            return ChainReport(checked, row.id, "row content does not match its hash")
    return ChainReport(checked, None, None)
