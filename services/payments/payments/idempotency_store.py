"""Idempotency-key rows: claim, inspect, complete, release and reap (given the transaction).

A claim is ``INSERT … ON CONFLICT DO NOTHING`` on ``UNIQUE(scope, principal_id, key)``: the
database decides which of two concurrent requests owns a key. ``locked_until`` is the lease of
an in-flight request; a lease that expired (the owner crashed) can be taken over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from common.direct_sql import DirectTransaction, compile_statement
from sqlalchemy import CursorResult, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from payments import audit, tables
from payments.idempotency_keys import IdempotentRequest, StoredResponse

k = tables.idempotency_keys.c


@dataclass(frozen=True, slots=True)
class KeyRow:
    id: int
    request_hash: bytes
    completed: bool
    lease_seconds_left: float
    response: StoredResponse | None


CLAIM = compile_statement(
    text(
        "INSERT INTO payments.idempotency_keys (scope, principal_id, key, request_method,"
        " request_path, request_hash, locked_until, expires_at)"
        " VALUES (:scope, :principal_id, :key, :method, :path, :body_hash,"
        " now() + make_interval(secs => :lease_seconds),"
        " now() + make_interval(hours => :retention_hours))"
        " ON CONFLICT ON CONSTRAINT uq_idempotency_keys_scope_principal_key DO NOTHING"
        " RETURNING id"
    )
)
"""The claim as one autocommit statement (the hot path runs it on the direct pool)."""


def claim_params(
    request: IdempotentRequest, *, lease: timedelta, retention: timedelta
) -> dict[str, Any]:
    return {
        "scope": request.scope,
        "principal_id": request.principal_id,
        "key": request.key,
        "method": request.method,
        "path": request.path,
        "body_hash": request.body_hash,
        "lease_seconds": lease.total_seconds(),
        "retention_hours": int(retention.total_seconds() // 3600),
    }


async def find_for_update(tx: AsyncSession, request: IdempotentRequest) -> KeyRow | None:
    lease_left = func.coalesce(func.extract("epoch", k.locked_until - func.now()), 0).label(
        "lease_left"
    )
    row = (
        await tx.execute(
            select(
                k.id,
                k.request_hash,
                k.state,
                lease_left,
                k.response_code,
                k.response_body,
                k.response_content_type,
            )
            .where(
                (k.scope == request.scope)
                & (k.principal_id == request.principal_id)
                & (k.key == request.key)
            )
            .with_for_update()
        )
    ).first()
    if row is None:
        return None
    completed = row.state == "completed"
    return KeyRow(
        id=row.id,
        request_hash=bytes(row.request_hash),
        completed=completed,
        lease_seconds_left=float(row.lease_left),
        response=StoredResponse(
            status=row.response_code,
            body=bytes(row.response_body),
            content_type=row.response_content_type,
            replayed=True,
        )
        if completed
        else None,
    )


async def renew_lease(tx: AsyncSession, key_id: int, *, lease: timedelta) -> None:
    await tx.execute(
        update(tables.idempotency_keys)
        .where(k.id == key_id)
        .values(locked_until=func.now() + lease)
    )


async def complete(
    tx: AsyncSession,
    key_id: int,
    response: StoredResponse,
    *,
    resource_type: str | None = None,
    resource_id: str | None = None,
) -> bool:
    """Stores the response; False when the key is no longer this request's to complete."""
    result = await tx.execute(
        update(tables.idempotency_keys)
        .where((k.id == key_id) & (k.state == "in_progress"))
        .values(
            state="completed",
            locked_until=None,
            response_code=response.status,
            response_body=response.body,
            response_content_type=response.content_type,
            resource_type=resource_type,
            resource_id=resource_id,
            completed_at=func.now(),
        )
    )
    assert isinstance(result, CursorResult)
    return bool(result.rowcount)


_COMPLETE = (
    "UPDATE payments.idempotency_keys SET state = 'completed', locked_until = NULL,"
    " response_code = :status, response_body = :body, response_content_type = :content_type,"
    " resource_type = :key_resource_type, resource_id = :key_resource_id, completed_at = now()"
    " WHERE id = :key_id AND state = 'in_progress' RETURNING id"
)
COMPLETE_DIRECT = compile_statement(text(_COMPLETE))
""":func:`complete` compiled for the direct pool (parameters: :func:`complete_params`)."""

COMPLETE_AND_AUDIT_DIRECT = compile_statement(
    text(
        f"WITH completed AS ({_COMPLETE})"
        f" SELECT (SELECT id FROM completed) AS id, {audit.APPEND_CALL} AS audit_id"
    )
)
"""The key's completion and the change's audit row in one statement (parameters:
:func:`complete_params` and ``audit.append_params``); ``id`` is NULL when the key was no longer
this request's to complete (the caller rolls back, the audit row with it)."""


def complete_params(
    key_id: int,
    response: StoredResponse,
    *,
    resource_type: str | None = None,
    resource_id: str | None = None,
) -> dict[str, Any]:
    return {
        "key_id": key_id,
        "status": response.status,
        "body": response.body,
        "content_type": response.content_type,
        "key_resource_type": resource_type,
        "key_resource_id": resource_id,
    }


async def complete_direct(
    tx: DirectTransaction,
    key_id: int,
    response: StoredResponse,
    *,
    audit_record: audit.AuditRecord | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
) -> bool:
    """:func:`complete` in a transaction on the direct pool; with ``audit_record``, the audit
    row is appended by the same statement (one round trip: the last before COMMIT)."""
    params = complete_params(key_id, response, resource_type=resource_type, resource_id=resource_id)
    if audit_record is None:
        return await tx.fetchrow(COMPLETE_DIRECT, params) is not None
    row = await tx.fetchrow(
        COMPLETE_AND_AUDIT_DIRECT, {**params, **audit.append_params(audit_record)}
    )
    return row is not None and row["id"] is not None


async def release(tx: AsyncSession, key_id: int) -> None:
    """Forgets an in-flight claim whose work rolled back, so a retry executes afresh."""
    await tx.execute(
        delete(tables.idempotency_keys).where((k.id == key_id) & (k.state == "in_progress"))
    )


_REAP = text(
    "DELETE FROM payments.idempotency_keys WHERE id IN ("
    " SELECT id FROM payments.idempotency_keys"
    " WHERE expires_at < now()"
    "   AND (state = 'completed' OR locked_until IS NULL OR locked_until < now())"
    " ORDER BY expires_at LIMIT :batch FOR UPDATE SKIP LOCKED)"
)


async def reap_expired(tx: AsyncSession, *, batch: int) -> int:
    """Deletes up to ``batch`` expired keys that no request holds; safe in every replica."""
    result = await tx.execute(_REAP, {"batch": batch})
    assert isinstance(result, CursorResult)
    return int(result.rowcount or 0)
