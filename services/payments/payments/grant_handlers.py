"""Admin grants: Nova minted from the platform's grants account to a driver or a merchant."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from payments import audit, ledger_repository, projections
from payments.audit import AuditRecord
from payments.deps import PaymentsDeps
from payments.errors import (
    DriverNotFoundError,
    IdempotencyKeyInUseError,
    MerchantNotFoundError,
)
from payments.idempotency_keys import IdempotentRequest, StoredResponse
from payments.idempotent import run_idempotent
from payments.kill_switches import Operation
from payments.ledger import (
    GRANTS_ISSUANCE,
    AccountRef,
    JournalKind,
    driver_wallet,
    merchant_account,
    transfer,
)
from payments.ledger_repository import PostStatus
from payments.outcomes import json_outcome


async def grant(
    deps: PaymentsDeps,
    *,
    admin_id: uuid.UUID,
    driver_id: uuid.UUID | None,
    merchant_id: uuid.UUID | None,
    nova: int,
    reason: str,
    request: IdempotentRequest,
) -> StoredResponse:
    await deps.kill_switches.require(Operation.GRANT)
    destination = await _destination(deps, driver_id, merchant_id)

    async def work(tx: AsyncSession, reference: str) -> StoredResponse:
        journal = transfer(
            JournalKind.GRANT,
            f"grant:{reference}",
            source=GRANTS_ISSUANCE,
            destination=destination,
            amount=nova,
            actor_type="admin",
            actor_id=str(admin_id),
            metadata={"reason": reason},
        )
        await deps.hooks.before_post(journal.kind.value)
        result = await ledger_repository.post(tx, journal)
        if result.status is not PostStatus.POSTED:
            raise IdempotencyKeyInUseError("This request was already applied.", retry_after=1)
        target = {"driver_id": str(driver_id)} if driver_id else {"merchant_id": str(merchant_id)}
        await audit.append(
            tx,
            AuditRecord(
                actor_type="admin",
                actor_id=str(admin_id),
                action="admin.grant",
                resource_type="ledger_transaction",
                resource_id=str(result.transaction_id),
                idempotency_key=request.key,
                details={
                    **target,
                    "nova": nova,
                    "reason": reason,
                    "balance_before": result.balances[1] - nova,
                    "balance_after": result.balances[1],
                },
            ),
        )
        return json_outcome(
            201,
            {
                "grant_id": str(result.transaction_id),
                **target,
                "nova": nova,
                "reason": reason,
                "balance": result.balances[1],
            },
        )

    return await run_idempotent(deps, request, work)


async def _destination(
    deps: PaymentsDeps, driver_id: uuid.UUID | None, merchant_id: uuid.UUID | None
) -> AccountRef:
    async with deps.uow() as tx:
        if driver_id is not None:
            if not await projections.driver_known(tx, driver_id):
                raise DriverNotFoundError(f"No driver {driver_id} is known to payments.")
            return driver_wallet(driver_id)
        assert merchant_id is not None  # the request model requires exactly one
        if await projections.get_merchant(tx, merchant_id) is None:
            raise MerchantNotFoundError(f"No merchant {merchant_id}.")
        return merchant_account(merchant_id)
