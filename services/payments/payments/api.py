"""HTTP routes of the driver wallet: parse -> call a use case -> respond. No SQL, no commit."""

# No `from __future__ import annotations`: FastAPI must see the local Annotated aliases.

import uuid
from datetime import datetime
from typing import Annotated

from common.auth_dependencies import require_role
from common.jwt_verification import InsufficientScopeError, VerifiedToken
from common.openapi_errors import SIGNED_IN, ErrorSpec, documented_pattern, problems
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from payments import errors as e
from payments import wallet_handlers
from payments.deps import PaymentsDeps
from payments.errors import IdempotencyKeyInvalidError, IdempotencyKeyRequiredError
from payments.idempotency_keys import (
    KEY_PATTERN,
    IdempotentRequest,
    KeyFormatError,
    StoredResponse,
    request_hash,
    validate_key,
)
from payments.ledger import MAX_NOVA_AMOUNT, NOVA

router = APIRouter(tags=["wallet"])

Driver = Annotated[VerifiedToken, Depends(require_role("driver"))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="16-255 printable ASCII characters; required outside ENV=local.",
        json_schema_extra=documented_pattern(KEY_PATTERN.pattern),
    ),
]
# What a route can answer besides success (common.openapi_errors; 400 validation_failed and
# 503 dependency_unavailable are added to every operation that can answer them).
DRIVER: tuple[ErrorSpec, ...] = (*SIGNED_IN, InsufficientScopeError)  # require_role("driver")
IDEMPOTENT: tuple[ErrorSpec, ...] = (  # idempotent_request + run_idempotent
    e.IdempotencyKeyRequiredError,
    e.IdempotencyKeyInvalidError,
    e.IdempotencyKeyReusedError,
    e.IdempotencyKeyInUseError,
)
NovaAmount = Annotated[StrictInt, Field(gt=0, le=MAX_NOVA_AMOUNT, description="whole Nova")]


async def get_deps(request: Request) -> PaymentsDeps:
    deps: PaymentsDeps = request.app.state.deps
    return deps


Deps = Annotated[PaymentsDeps, Depends(get_deps)]


def idempotent_request(
    deps: PaymentsDeps,
    *,
    scope: str,
    principal: uuid.UUID,
    key: str | None,
    method: str,
    path: str,
    body: BaseModel,
) -> IdempotentRequest:
    if key is None:
        if deps.settings.idempotency_key_required:
            raise IdempotencyKeyRequiredError("Send an Idempotency-Key header.")
    else:
        try:
            validate_key(key)
        except KeyFormatError as exc:
            raise IdempotencyKeyInvalidError(str(exc)) from exc
    return IdempotentRequest(
        scope=scope,
        principal_id=str(principal),
        key=key,
        method=method,
        path=path,
        body_hash=request_hash(method, scope, body.model_dump(mode="json")),
    )


def send(outcome: StoredResponse) -> Response:
    headers = {"Cache-Control": "no-store"}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    code = outcome.error_code
    if code:
        headers["X-Error-Code"] = code
    return Response(
        content=outcome.body,
        status_code=outcome.status,
        media_type=outcome.content_type,
        headers=headers,
    )


class WalletOut(BaseModel):
    driver_id: uuid.UUID
    asset: str
    balance: int
    version: int


@router.get("/v1/wallet", responses=problems(*DRIVER))
async def get_wallet(deps: Deps, driver: Driver) -> WalletOut:
    balance = await wallet_handlers.wallet_balance(deps, driver.user_id)
    return WalletOut(
        driver_id=driver.user_id, asset=NOVA, balance=balance.balance, version=balance.version
    )


class WalletEntryOut(BaseModel):
    entry_id: int
    transaction_id: uuid.UUID
    kind: str
    amount: int
    balance_after: int
    account_version: int
    created_at: datetime
    merchant_id: str | None = None
    session_id: str | None = None


class WalletHistoryOut(BaseModel):
    items: list[WalletEntryOut]
    next_cursor: int | None


@router.get("/v1/wallet/transactions", responses=problems(*DRIVER))
async def get_wallet_transactions(
    deps: Deps,
    driver: Driver,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[int | None, Query(ge=1, description="next_cursor of the page before")] = None,
) -> WalletHistoryOut:
    page = await wallet_handlers.wallet_history(deps, driver.user_id, before=cursor, limit=limit)
    return WalletHistoryOut(
        items=[
            WalletEntryOut(
                entry_id=e.entry_id,
                transaction_id=e.transaction_id,
                kind=e.kind,
                amount=e.amount,
                balance_after=e.balance_after,
                account_version=e.account_version,
                created_at=e.created_at,
                merchant_id=e.metadata.get("merchant_id"),
                session_id=e.metadata.get("session_id"),
            )
            for e in page.items
        ],
        next_cursor=page.next_cursor,
    )


class RedemptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    merchant_id: uuid.UUID
    nova: NovaAmount


class RedemptionOut(BaseModel):
    redemption_id: uuid.UUID
    merchant_id: uuid.UUID
    nova: int
    balance: int


REDEMPTIONS = "/v1/wallet/redemptions"


@router.post(
    REDEMPTIONS,
    status_code=201,
    response_model=RedemptionOut,
    responses=problems(
        *DRIVER,
        *IDEMPOTENT,
        e.MoneyMovementDisabledError,
        e.MerchantNotFoundError,
        e.MerchantInactiveError,
        e.InsufficientFundsError,
    ),
)
async def post_redemption(
    body: RedemptionIn, deps: Deps, driver: Driver, idempotency_key: IdempotencyKey = None
) -> Response:
    request = idempotent_request(
        deps,
        scope=f"POST {REDEMPTIONS}",
        principal=driver.user_id,
        key=idempotency_key,
        method="POST",
        path=REDEMPTIONS,
        body=body,
    )
    outcome = await wallet_handlers.redeem(
        deps,
        driver_id=driver.user_id,
        merchant_id=body.merchant_id,
        nova=body.nova,
        request=request,
    )
    return send(outcome)
