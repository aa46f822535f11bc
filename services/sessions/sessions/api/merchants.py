"""The merchant side: its owner reads the merchant, changes its notification phone, sees the
arrivals and redeems offer codes. Another owner's merchant is 404; a driver is 403."""

from __future__ import annotations

import uuid
from datetime import datetime

from common.openapi_errors import documented_pattern, problems
from fastapi import APIRouter
from pydantic import BaseModel, Field

from sessions import completion_handlers, merchant_handlers
from sessions.api.schemas import PHONE_SHAPE, WITH_ROLE, Body, MerchantOwner, SessionsDeps
from sessions.errors import (
    InvalidPhoneNumberError,
    MerchantNotFoundError,
    OfferCodeAlreadyRedeemedError,
    OfferCodeNotFoundError,
    SessionStateConflictError,
)
from sessions.records import Merchant

router = APIRouter(tags=["merchants"])
# An offer code as typed (the handler normalises it and answers offer_code_not_found).
OFFER_CODE_SHAPE = documented_pattern(r"^[0-9A-Za-z -]*[0-9A-Za-z][0-9A-Za-z -]*$")


class MerchantOut(BaseModel):
    id: uuid.UUID
    owner_user_id: uuid.UUID
    name: str
    lat: float
    lng: float
    notification_phone_masked: str | None
    offer_title: str
    billing_amount_minor: int
    currency: str
    reward_nova: int
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, m: Merchant) -> MerchantOut:
        return cls(
            id=m.id,
            owner_user_id=m.owner_user_id,
            name=m.name,
            lat=m.lat,
            lng=m.lng,
            notification_phone_masked=m.phone_masked,
            offer_title=m.offer_title,
            billing_amount_minor=m.billing_amount_minor,
            currency=m.currency,
            reward_nova=m.reward_nova,
            active=m.active,
            created_at=m.created_at,
            updated_at=m.updated_at,
        )


class OwnerPatchBody(Body):
    """Owners change only the notification phone (E.164, e.g. +14155550123)."""

    notification_phone: str = Field(min_length=1, max_length=20, json_schema_extra=PHONE_SHAPE)


class ArrivalOut(BaseModel):
    session_id: uuid.UUID
    status: str
    offer_code: str
    reply_code: str
    created_at: datetime
    arrived_at: datetime | None
    expires_at: datetime
    merchant_unreachable: bool


class ArrivalsOut(BaseModel):
    items: list[ArrivalOut]


class RedemptionBody(Body):
    code: str = Field(min_length=1, max_length=32, json_schema_extra=OFFER_CODE_SHAPE)


class RedemptionOut(BaseModel):
    session_id: uuid.UUID
    status: str
    billing_event_id: uuid.UUID
    amount_minor: int
    currency: str
    reward_nova: int
    completed_at: datetime


@router.get(
    "/v1/merchants/{merchant_id}",
    response_model=MerchantOut,
    responses=problems(*WITH_ROLE, MerchantNotFoundError),
)
async def get_merchant(
    merchant_id: uuid.UUID, user: MerchantOwner, deps: SessionsDeps
) -> MerchantOut:
    return MerchantOut.of(
        await merchant_handlers.get_merchant(deps, user=user, merchant_id=merchant_id)
    )


@router.patch(
    "/v1/merchants/{merchant_id}",
    response_model=MerchantOut,
    responses=problems(*WITH_ROLE, MerchantNotFoundError, InvalidPhoneNumberError),
    summary="Change where arrival SMS go (owner only)",
)
async def patch_merchant(
    merchant_id: uuid.UUID, body: OwnerPatchBody, user: MerchantOwner, deps: SessionsDeps
) -> MerchantOut:
    merchant = await merchant_handlers.set_notification_phone(
        deps, user=user, merchant_id=merchant_id, phone=body.notification_phone
    )
    return MerchantOut.of(merchant)


@router.get(
    "/v1/merchants/{merchant_id}/arrivals",
    response_model=ArrivalsOut,
    responses=problems(*WITH_ROLE, MerchantNotFoundError),
    summary="Open sessions at this merchant, with their offer codes",
)
async def arrivals(merchant_id: uuid.UUID, user: MerchantOwner, deps: SessionsDeps) -> ArrivalsOut:
    sessions = await merchant_handlers.arrivals(deps, user=user, merchant_id=merchant_id)
    return ArrivalsOut(
        items=[
            ArrivalOut(
                session_id=s.id,
                status=s.status.value,
                offer_code=s.offer_code,
                reply_code=s.reply_code,
                created_at=s.created_at,
                arrived_at=s.arrived_at,
                expires_at=s.expires_at,
                merchant_unreachable=s.notify_status == "merchant_unreachable",
            )
            for s in sessions
        ]
    )


@router.post(
    "/v1/merchants/{merchant_id}/redemptions",
    response_model=RedemptionOut,
    responses=problems(
        *WITH_ROLE,
        MerchantNotFoundError,
        OfferCodeNotFoundError,
        OfferCodeAlreadyRedeemedError,
        SessionStateConflictError,
    ),
    summary="Redeem an offer code: completes its session and bills the merchant, once",
)
async def redeem(
    merchant_id: uuid.UUID, body: RedemptionBody, user: MerchantOwner, deps: SessionsDeps
) -> RedemptionOut:
    done = await completion_handlers.redeem(
        deps, user=user, merchant_id=merchant_id, code=body.code
    )
    assert done.session.ended_at is not None
    return RedemptionOut(
        session_id=done.session.id,
        status=done.session.status.value,
        billing_event_id=done.billing_event.id,
        amount_minor=done.billing_event.amount_minor,
        currency=done.billing_event.currency,
        reward_nova=done.session.reward_nova,
        completed_at=done.session.ended_at,
    )
