"""HTTP routes of driver payouts: parse -> call a use case -> respond. No SQL, no commit.

POST /v1/payouts           {nova} + Idempotency-Key → 202 {payout_id, status, ...} (phase 1
                           only; the worker calls Stripe); a repeat follows the payout's state
GET  /v1/payouts/{id}      one of the driver's payouts, as it stands now
POST /v1/payouts/account   the driver's Stripe connected account + a fresh onboarding link
"""

# No `from __future__ import annotations`: FastAPI must see the local Annotated aliases.

import uuid

from common.openapi_errors import problems
from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from payments import errors as e
from payments import payout_account_handlers, payout_handlers, payout_queries
from payments.api import (
    DRIVER,
    IDEMPOTENT,
    Deps,
    Driver,
    IdempotencyKey,
    NovaAmount,
    idempotent_request,
    send,
)

router = APIRouter(tags=["payouts"])

PAYOUTS = "/v1/payouts"


class PayoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nova: NovaAmount


class PayoutOut(BaseModel):
    payout_id: uuid.UUID
    status: str
    nova: int
    amount_minor: int
    currency: str
    stripe_transfer_id: str | None
    error_code: str | None
    pending_reconciliation: bool


@router.post(
    PAYOUTS,
    status_code=202,
    response_model=PayoutOut,
    responses={
        200: {"model": PayoutOut, "description": "A repeated request of a settled payout."},
        **problems(
            *DRIVER,
            *IDEMPOTENT,
            e.MoneyMovementDisabledError,
            e.PayoutAccountNotReadyError,
            e.PayoutInProgressError,
            e.PayoutAmountTooSmallError,
            e.InsufficientFundsError,
        ),
    },
)
async def post_payout(
    body: PayoutIn, deps: Deps, driver: Driver, idempotency_key: IdempotencyKey = None
) -> Response:
    request = idempotent_request(
        deps,
        scope=f"POST {PAYOUTS}",
        principal=driver.user_id,
        key=idempotency_key,
        method="POST",
        path=PAYOUTS,
        body=body,
    )
    outcome = await payout_handlers.request_payout(
        deps, driver_id=driver.user_id, nova=body.nova, request=request
    )
    return send(outcome)


@router.get(f"{PAYOUTS}/{{payout_id}}", responses=problems(*DRIVER, e.PayoutNotFoundError))
async def get_payout(payout_id: uuid.UUID, deps: Deps, driver: Driver) -> PayoutOut:
    payout = await payout_queries.driver_payout(deps, driver.user_id, payout_id)
    return PayoutOut(**payout_handlers.payout_body(payout))


class PayoutAccountOut(BaseModel):
    stripe_account_id: str
    payouts_enabled: bool
    onboarding_url: str
    expires_at: int


@router.post(
    f"{PAYOUTS}/account",
    responses=problems(*DRIVER, e.PayoutAccountRejectedError, e.StripeUnavailableError),
)
async def post_payout_account(deps: Deps, driver: Driver) -> PayoutAccountOut:
    view = await payout_account_handlers.start_onboarding(deps, driver.user_id)
    return PayoutAccountOut(
        stripe_account_id=view.stripe_account_id,
        payouts_enabled=view.payouts_enabled,
        onboarding_url=view.onboarding_url,
        expires_at=view.expires_at,
    )
