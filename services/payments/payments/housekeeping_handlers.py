"""Housekeeping use cases: reaping expired idempotency keys."""

from __future__ import annotations

from payments import idempotency_store
from payments.deps import PaymentsDeps


async def reap_idempotency_keys(deps: PaymentsDeps, *, batch: int, max_batches: int = 20) -> int:
    """Deletes expired, unheld keys in batches of ``batch`` (``SKIP LOCKED``: every replica
    can run it at once). Business dedup survives the keys (``UNIQUE(kind, external_ref)``)."""
    total = 0
    for _ in range(max_batches):
        async with deps.uow() as tx:
            deleted = await idempotency_store.reap_expired(tx, batch=batch)
        total += deleted
        if deleted < batch:
            break
    return total
