"""Read-only payout use cases: a driver's own payout, and ops' views (the admin routes and
``nerava-ops payouts``)."""

from __future__ import annotations

import uuid
from typing import Any

from payments import payout_store
from payments.deps import PaymentsDeps
from payments.errors import PayoutNotFoundError
from payments.payout_store import Payout


async def list_payouts(deps: PaymentsDeps, *, status: str | None, limit: int) -> list[Payout]:
    async with deps.uow() as tx:
        return await payout_store.listing(tx, status=status, limit=limit)


async def payout_with_history(
    deps: PaymentsDeps, payout_id: uuid.UUID
) -> tuple[Payout, list[dict[str, Any]]]:
    async with deps.uow() as tx:
        payout = await payout_store.get(tx, payout_id)
        if payout is None:
            raise PayoutNotFoundError(f"No payout {payout_id}.")
        return payout, await payout_store.transitions(tx, payout_id)


async def driver_payout(deps: PaymentsDeps, driver_id: uuid.UUID, payout_id: uuid.UUID) -> Payout:
    """One of the driver's payouts; another driver's is as unknown as a missing one (404)."""
    async with deps.uow() as tx:
        payout = await payout_store.get(tx, payout_id)
    if payout is None or payout.driver_id != driver_id:
        raise PayoutNotFoundError(f"No payout {payout_id}.")
    return payout
