"""The redemption's first statement: the merchant check and the key claim in one round trip.

An autocommit statement on the direct pool: the key is claimed (``INSERT … ON CONFLICT DO
NOTHING``, as ``idempotency_store.CLAIM``) only when the merchant exists and is active, so a
refused request leaves nothing behind, exactly as a check before the claim would.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from common.direct_sql import compile_statement
from sqlalchemy import text

from payments.deps import PaymentsUnitOfWork


@dataclass(frozen=True, slots=True)
class MerchantClaim:
    merchant_active: bool | None
    """None: no such merchant; False: inactive (nothing was claimed then)."""
    key_id: int | None
    """The key claimed now; None when the merchant refused or the key was already taken."""


CLAIM_AT_MERCHANT = compile_statement(
    text(
        "WITH merchant AS ("
        " SELECT active FROM payments.merchants WHERE merchant_id = CAST(:merchant_id AS uuid)"
        "), claimed AS ("
        " INSERT INTO payments.idempotency_keys (scope, principal_id, key, request_method,"
        " request_path, request_hash, locked_until, expires_at)"
        " SELECT CAST(:scope AS text), CAST(:principal_id AS text), CAST(:key AS text),"
        " CAST(:method AS text), CAST(:path AS text), CAST(:body_hash AS bytea),"
        " now() + make_interval(secs => :lease_seconds),"
        " now() + make_interval(hours => :retention_hours)"
        " FROM merchant WHERE merchant.active"
        " ON CONFLICT ON CONSTRAINT uq_idempotency_keys_scope_principal_key DO NOTHING"
        " RETURNING id"
        ")"
        " SELECT (SELECT active FROM merchant) AS merchant_active,"
        " (SELECT id FROM claimed) AS key_id"
    )
)


async def claim_at_merchant(
    uow: PaymentsUnitOfWork, merchant_id: uuid.UUID, claim_params: dict[str, Any]
) -> MerchantClaim:
    """``claim_params``: ``idempotent.claim_params`` of the request."""
    row = await uow.direct(CLAIM_AT_MERCHANT, {**claim_params, "merchant_id": merchant_id})
    if row is None:
        raise RuntimeError("the merchant claim returned no row")
    key_id = row["key_id"]
    return MerchantClaim(row["merchant_active"], int(key_id) if key_id is not None else None)
