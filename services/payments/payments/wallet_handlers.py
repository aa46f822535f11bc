"""Driver wallet use cases: balance, history, redemption at a merchant.

A redemption is the hot path, on the direct asyncpg pool: the merchant check with the key
claim (one autocommit statement), then one transaction — ``post_journal``, then the key's
response together with the audit row (``run_claimed``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from common.direct_sql import DirectTransaction

from payments import ledger_repository, projections, redemption_store
from payments.audit import AuditRecord
from payments.deps import PaymentsDeps
from payments.errors import (
    IdempotencyKeyInUseError,
    InsufficientFundsError,
    MerchantInactiveError,
    MerchantNotFoundError,
)
from payments.idempotency_keys import IdempotentRequest, StoredResponse
from payments.idempotent import DirectOutcome, claim_params, resolve_taken_key, run_claimed
from payments.kill_switches import Operation
from payments.ledger import JournalKind, driver_wallet, merchant_account, transfer
from payments.ledger_repository import Balance, HistoryEntry, PostStatus
from payments.outcomes import json_outcome, problem_outcome


async def wallet_balance(deps: PaymentsDeps, driver_id: uuid.UUID) -> Balance:
    async with deps.uow() as tx:
        return await ledger_repository.balance_of(tx, driver_wallet(driver_id))


@dataclass(frozen=True, slots=True)
class HistoryPage:
    items: list[HistoryEntry]
    next_cursor: int | None


async def wallet_history(
    deps: PaymentsDeps, driver_id: uuid.UUID, *, before: int | None, limit: int
) -> HistoryPage:
    async with deps.uow() as tx:
        rows = await ledger_repository.history(
            tx, driver_wallet(driver_id), before=before, limit=limit + 1
        )
    items = rows[:limit]
    return HistoryPage(items, items[-1].entry_id if len(rows) > limit else None)


async def redeem(
    deps: PaymentsDeps,
    *,
    driver_id: uuid.UUID,
    merchant_id: uuid.UUID,
    nova: int,
    request: IdempotentRequest,
) -> StoredResponse:
    """Moves ``nova`` from the driver's wallet to the merchant: 201, or a stored 409
    ``insufficient_funds``. Unknown/inactive merchants are refused before the key is claimed."""
    await deps.kill_switches.require(Operation.REDEEM)
    claimed = await _claim_at_merchant(deps, request, merchant_id)
    if isinstance(claimed, StoredResponse):
        return claimed

    async def work(tx: DirectTransaction, reference: str) -> DirectOutcome:
        journal = transfer(
            JournalKind.REDEEM,
            f"redeem:{reference}",
            source=driver_wallet(driver_id),
            destination=merchant_account(merchant_id),
            amount=nova,
            actor_type="driver",
            actor_id=str(driver_id),
            metadata={"merchant_id": str(merchant_id)},
        )
        await deps.hooks.before_post(journal.kind.value)
        result = await ledger_repository.post_direct(tx, journal)
        if result.status is PostStatus.INSUFFICIENT_FUNDS:
            return DirectOutcome(
                problem_outcome(InsufficientFundsError(f"The wallet holds less than {nova} Nova."))
            )
        if result.status is PostStatus.DUPLICATE:
            raise IdempotencyKeyInUseError("This request was already applied.", retry_after=1)
        body: dict[str, Any] = {
            "redemption_id": str(result.transaction_id),
            "merchant_id": str(merchant_id),
            "nova": nova,
            "balance": result.balances[0],
        }
        record = AuditRecord(
            actor_type="driver",
            actor_id=str(driver_id),
            action="wallet.redeem",
            resource_type="ledger_transaction",
            resource_id=str(result.transaction_id),
            idempotency_key=request.key,
            details={
                "merchant_id": str(merchant_id),
                "nova": nova,
                "wallet_balance_before": result.balances[0] + nova,
                "wallet_balance_after": result.balances[0],
            },
        )
        return DirectOutcome(json_outcome(201, body), audit=record)

    return await run_claimed(deps, request, claimed, work)


async def _claim_at_merchant(
    deps: PaymentsDeps, request: IdempotentRequest, merchant_id: uuid.UUID
) -> int | StoredResponse | None:
    """The claimed key's id (None: the request has no key), or the stored response of a
    completed one; refuses an unknown or inactive merchant without claiming anything."""
    if request.key is None:  # ENV=local without a key
        row = await deps.uow.direct(projections.MERCHANT_STATUS, {"merchant_id": merchant_id})
        _require_active(merchant_id, row["active"] if row is not None else None)
        return None
    claim = await redemption_store.claim_at_merchant(
        deps.uow, merchant_id, claim_params(deps, request)
    )
    _require_active(merchant_id, claim.merchant_active)
    if claim.key_id is not None:
        return claim.key_id
    return await resolve_taken_key(deps, request)


def _require_active(merchant_id: uuid.UUID, active: bool | None) -> None:
    if active is None:
        raise MerchantNotFoundError(f"No merchant {merchant_id}.")
    if not active:
        raise MerchantInactiveError("This merchant does not accept redemptions now.")
