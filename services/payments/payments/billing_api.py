"""Admin HTTP routes of merchant billing (``/v1/admin/payments/...`` at the gateway).

PUT /v1/admin/merchants/{merchant_id}/billing          {payment_method_id}
GET /v1/admin/billing-charges/{billing_event_id}       one charge's state (ops)
"""

# No `from __future__ import annotations`: FastAPI must see the local Annotated aliases.

import uuid

from common.auth_dependencies import AdminUser
from common.openapi_errors import ADMIN, problems
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from payments import billing_handlers
from payments.api import Deps
from payments.errors import (
    ChargeNotFoundError,
    MerchantNotFoundError,
    PaymentMethodRejectedError,
    StripeUnavailableError,
)

router = APIRouter(tags=["admin", "billing"])


class BillingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    payment_method_id: str = Field(min_length=3, max_length=255, pattern=r"^pm_[A-Za-z0-9_]+$")


class BillingOut(BaseModel):
    merchant_id: uuid.UUID
    stripe_customer_id: str
    default_payment_method_id: str
    charges_requeued: int


class ChargeOut(BaseModel):
    billing_event_id: uuid.UUID
    merchant_id: uuid.UUID
    session_id: uuid.UUID
    amount_minor: int
    currency: str
    status: str
    stripe_payment_intent_id: str | None
    error_code: str | None
    attempts: int


@router.put(
    "/v1/admin/merchants/{merchant_id}/billing",
    responses=problems(
        *ADMIN, MerchantNotFoundError, PaymentMethodRejectedError, StripeUnavailableError
    ),
)
async def put_merchant_billing(
    merchant_id: uuid.UUID, body: BillingIn, deps: Deps, admin: AdminUser
) -> BillingOut:
    view = await billing_handlers.set_payment_method(
        deps, merchant_id, body.payment_method_id, admin=str(admin.user_id)
    )
    return BillingOut(
        merchant_id=view.merchant_id,
        stripe_customer_id=view.stripe_customer_id,
        default_payment_method_id=view.default_payment_method_id,
        charges_requeued=view.charges_requeued,
    )


@router.get(
    "/v1/admin/billing-charges/{billing_event_id}",
    responses=problems(*ADMIN, ChargeNotFoundError),
)
async def get_billing_charge(
    billing_event_id: uuid.UUID, deps: Deps, admin: AdminUser
) -> ChargeOut:
    charge = await billing_handlers.get_charge(deps, billing_event_id)
    if charge is None:
        raise ChargeNotFoundError()
    return ChargeOut(
        billing_event_id=charge.billing_event_id,
        merchant_id=charge.merchant_id,
        session_id=charge.session_id,
        amount_minor=charge.amount_minor,
        currency=charge.currency,
        status=charge.status,
        stripe_payment_intent_id=charge.stripe_payment_intent_id,
        error_code=charge.error_code,
        attempts=charge.attempts,
    )
