"""Admin HTTP routes of payouts (``/v1/admin/payments/...`` at the gateway).

GET  /v1/admin/payouts?status=unknown     payouts for ops, newest first
GET  /v1/admin/payouts/{payout_id}        one payout with its transition history
POST /v1/admin/payouts/{payout_id}/reconcile   settle it now (a settled payout: no-op)
"""

# No `from __future__ import annotations`: FastAPI must see the local Annotated aliases.

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from common.auth_dependencies import AdminUser
from common.openapi_errors import ADMIN, problems
from fastapi import APIRouter, Query
from pydantic import BaseModel

from payments import errors as e
from payments import payout_queries, payout_reconciler
from payments.api import Deps
from payments.payout_store import Payout

router = APIRouter(tags=["admin", "payouts"])

Status = Literal["pending", "succeeded", "failed", "unknown", "frozen", "reversed"]


class AdminPayoutOut(BaseModel):
    payout_id: uuid.UUID
    driver_id: uuid.UUID
    status: str
    nova: int
    amount_minor: int
    currency: str
    rate_minor_per_nova: str
    destination_account: str
    stripe_transfer_id: str | None
    stripe_status: str | None
    attempt_count: int
    error_code: str | None
    error_message: str | None
    no_transfer_confirmed: bool
    retry_of: uuid.UUID | None
    first_submitted_at: datetime | None
    reconciled_at: datetime | None
    next_reconcile_at: datetime
    created_at: datetime


def _out(p: Payout) -> AdminPayoutOut:
    return AdminPayoutOut(
        payout_id=p.id,
        driver_id=p.driver_id,
        status=p.status,
        nova=p.nova_amount,
        amount_minor=p.amount_minor,
        currency=p.currency,
        rate_minor_per_nova=str(p.rate_minor_per_nova.normalize()),
        destination_account=p.destination_account,
        stripe_transfer_id=p.stripe_transfer_id,
        stripe_status=p.stripe_status,
        attempt_count=p.attempt_count,
        error_code=p.last_error_code,
        error_message=p.last_error_message,
        no_transfer_confirmed=p.no_transfer_confirmed,
        retry_of=p.retry_of,
        first_submitted_at=p.first_submitted_at,
        reconciled_at=p.reconciled_at,
        next_reconcile_at=p.next_reconcile_at,
        created_at=p.created_at,
    )


class AdminPayoutsOut(BaseModel):
    items: list[AdminPayoutOut]


@router.get("/v1/admin/payouts", responses=problems(*ADMIN))
async def get_payouts(
    deps: Deps,
    admin: AdminUser,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AdminPayoutsOut:
    found = await payout_queries.list_payouts(deps, status=status, limit=limit)
    return AdminPayoutsOut(items=[_out(p) for p in found])


class TransitionOut(BaseModel):
    from_status: str | None
    to_status: str
    reason: str
    actor: str
    details: dict[str, Any]
    created_at: datetime


class AdminPayoutDetailOut(AdminPayoutOut):
    transitions: list[TransitionOut]


@router.get("/v1/admin/payouts/{payout_id}", responses=problems(*ADMIN, e.PayoutNotFoundError))
async def get_payout(payout_id: uuid.UUID, deps: Deps, admin: AdminUser) -> AdminPayoutDetailOut:
    payout, history = await payout_queries.payout_with_history(deps, payout_id)
    return AdminPayoutDetailOut(
        **_out(payout).model_dump(), transitions=[TransitionOut(**t) for t in history]
    )


class ReconcileOut(BaseModel):
    """The seed's reconcile answer (``payment_id`` is the payout's id)."""

    payment_id: uuid.UUID
    status: str
    stripe_transfer_id: str | None
    stripe_status: str | None
    error_code: str | None
    error_message: str | None
    reconciled_at: datetime | None
    no_transfer_confirmed: bool
    acted: bool


@router.post(
    "/v1/admin/payouts/{payout_id}/reconcile",
    responses=problems(*ADMIN, e.PayoutNotFoundError, e.PayoutReconcileInProgressError),
)
async def post_reconcile(payout_id: uuid.UUID, deps: Deps, admin: AdminUser) -> ReconcileOut:
    result = await payout_reconciler.reconcile_now(deps, payout_id, admin=str(admin.user_id))
    p = result.payout
    return ReconcileOut(
        payment_id=p.id,
        status=p.status,
        stripe_transfer_id=p.stripe_transfer_id,
        stripe_status=p.stripe_status,
        error_code=p.last_error_code,
        error_message=p.last_error_message,
        reconciled_at=p.reconciled_at,
        no_transfer_confirmed=p.no_transfer_confirmed,
        acted=result.acted,
    )
