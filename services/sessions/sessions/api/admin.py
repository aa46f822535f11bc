"""Admin routes (``/v1/admin/…`` here, ``/v1/admin/sessions/…`` through the gateway): charger
import, merchants, every session; completing or cancelling a session is audited."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from common.auth_dependencies import AdminUser
from common.errors import InvalidInput
from common.openapi_errors import ADMIN, NOT_BLANK, problems
from common.request_context import current_request_id
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, StrictInt

from sessions import admin_handlers, charger_handlers, completion_handlers, merchant_handlers
from sessions.api.charger_import import ChargerImportBody, parse_csv, parse_json
from sessions.api.merchants import MerchantOut, RedemptionOut
from sessions.api.schemas import (
    PHONE_SHAPE,
    AdminSessionOut,
    Body,
    SessionsDeps,
    parse_session_cursor,
    session_cursor,
)
from sessions.completion_handlers import AdminAction
from sessions.errors import (
    BillingAmountOutOfRangeError,
    CurrencyNotSupportedError,
    ImportTooLargeError,
    InvalidCoordinatesError,
    InvalidCursorError,
    InvalidImportError,
    InvalidPhoneNumberError,
    MerchantNotFoundError,
    RewardOutOfRangeError,
    SessionNotFoundError,
    SessionStateConflictError,
)
from sessions.merchant_handlers import Actor
from sessions.merchant_repository import MerchantFields
from sessions.session_states import SessionStatus

router = APIRouter(tags=["admin"])
MAX_IMPORT_BYTES = 4 * 1024 * 1024

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NOT_BLANK)]
Phone = Annotated[str, Field(min_length=1, max_length=20, json_schema_extra=PHONE_SHAPE)]
Currency = Annotated[str, Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")]
# What the merchant rules refuse (their own 422 codes).
MERCHANT_RULES = (
    InvalidCoordinatesError,
    InvalidPhoneNumberError,
    CurrencyNotSupportedError,
    BillingAmountOutOfRangeError,
    RewardOutOfRangeError,
)


class MerchantCreateBody(Body):
    owner_user_id: uuid.UUID
    name: Name
    lat: float
    lng: float
    notification_phone: Phone
    offer_title: Name
    billing_amount_minor: StrictInt = Field(gt=0)
    currency: Currency
    reward_nova: StrictInt = Field(ge=0)
    active: bool = True


class MerchantPatchBody(Body):
    owner_user_id: uuid.UUID | None = None
    name: Name | None = None
    lat: float | None = None
    lng: float | None = None
    notification_phone: Phone | None = None
    offer_title: Name | None = None
    billing_amount_minor: StrictInt | None = Field(default=None, gt=0)
    currency: Currency | None = None
    reward_nova: StrictInt | None = Field(default=None, ge=0)
    active: bool | None = None


class ImportOut(BaseModel):
    received: int
    created: int
    updated: int
    unchanged: int


class BillingEventOut(BaseModel):
    id: uuid.UUID
    session_id: uuid.UUID
    amount_minor: int
    currency: str
    created_at: datetime


class AdminMerchantOut(MerchantOut):
    open_sessions: int
    last_billing_event: BillingEventOut | None


class AdminMerchantPage(BaseModel):
    items: list[AdminMerchantOut]
    next_cursor: str | None


class AdminSessionPage(BaseModel):
    items: list[AdminSessionOut]
    next_cursor: str | None


class AdminActionBody(Body):
    reason: str | None = Field(default=None, min_length=1, max_length=500, pattern=NOT_BLANK)


def _actor(admin: Any) -> Actor:
    return Actor(user_id=admin.user_id, request_id=current_request_id())


IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ChargerImportBody.model_json_schema()},
            "text/csv": {
                "schema": {
                    "type": "string",
                    "description": "external_id,name,network,lat,lng,"
                    "connectors (connectors like CCS:150;CHAdeMO:50)",
                }
            },
        },
    }
}


@router.post(
    "/v1/admin/chargers/import",
    response_model=ImportOut,
    responses=problems(*ADMIN, ImportTooLargeError, InvalidImportError),
    openapi_extra=IMPORT_BODY,
    summary="Create or update chargers by external id (JSON or CSV)",
)
async def import_chargers(request: Request, admin: AdminUser, deps: SessionsDeps) -> ImportOut:
    raw = await request.body()
    if len(raw) > MAX_IMPORT_BYTES:
        raise ImportTooLargeError(f"At most {MAX_IMPORT_BYTES} bytes per import.")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "text/csv":
        rows = parse_csv(raw)
    elif media in ("application/json", ""):
        rows = parse_json(raw)
    else:
        raise InvalidImportError("Send application/json or text/csv.")
    counts = await charger_handlers.import_chargers(deps, rows)
    return ImportOut(
        received=len(rows),
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
    )


@router.post(
    "/v1/admin/merchants",
    status_code=201,
    response_model=MerchantOut,
    responses=problems(*ADMIN, *MERCHANT_RULES),
)
async def create_merchant(
    body: MerchantCreateBody, admin: AdminUser, deps: SessionsDeps
) -> MerchantOut:
    merchant = await merchant_handlers.create_merchant(
        deps,
        actor=_actor(admin),
        owner_user_id=body.owner_user_id,
        fields=MerchantFields(
            name=body.name,
            lat=body.lat,
            lng=body.lng,
            offer_title=body.offer_title,
            billing_amount_minor=body.billing_amount_minor,
            currency=body.currency,
            reward_nova=body.reward_nova,
            active=body.active,
        ),
        notification_phone=body.notification_phone,
    )
    return MerchantOut.of(merchant)


@router.patch(
    "/v1/admin/merchants/{merchant_id}",
    response_model=MerchantOut,
    responses=problems(*ADMIN, InvalidInput, MerchantNotFoundError, *MERCHANT_RULES),
)
async def update_merchant(
    merchant_id: uuid.UUID, body: MerchantPatchBody, admin: AdminUser, deps: SessionsDeps
) -> MerchantOut:
    changes = body.model_dump(exclude_unset=True, exclude={"notification_phone"})
    if any(value is None for value in changes.values()):
        raise InvalidInput("Fields cannot be set to null; leave them out instead.")
    merchant = await merchant_handlers.update_merchant(
        deps,
        actor=_actor(admin),
        merchant_id=merchant_id,
        changes=changes,
        notification_phone=body.notification_phone,
    )
    return MerchantOut.of(merchant)


@router.get(
    "/v1/admin/merchants",
    response_model=AdminMerchantPage,
    responses=problems(*ADMIN),
    summary="Every merchant with its open-session count and last billing event",
)
async def list_merchants(
    admin: AdminUser,
    deps: SessionsDeps,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        uuid.UUID | None, Query(description="the last id of the previous page")
    ] = None,
) -> AdminMerchantPage:
    page = await admin_handlers.merchants_page(deps, limit=limit, after=cursor)
    items = []
    for row in page:
        billing = row.last_billing_event
        items.append(
            AdminMerchantOut(
                **MerchantOut.of(row.merchant).model_dump(),
                open_sessions=row.open_sessions,
                last_billing_event=BillingEventOut(
                    id=billing.id,
                    session_id=billing.session_id,
                    amount_minor=billing.amount_minor,
                    currency=billing.currency,
                    created_at=billing.created_at,
                )
                if billing
                else None,
            )
        )
    next_cursor = str(page[-1].merchant.id) if len(page) == limit else None
    return AdminMerchantPage(items=items, next_cursor=next_cursor)


@router.get(
    "/v1/admin/exclusive-sessions",
    response_model=AdminSessionPage,
    responses=problems(*ADMIN, InvalidCursorError),
)
async def list_sessions(
    admin: AdminUser,
    deps: SessionsDeps,
    status: Annotated[list[SessionStatus] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AdminSessionPage:
    items = await admin_handlers.sessions_page(
        deps, statuses=status or [], limit=limit, after=parse_session_cursor(cursor)
    )
    return AdminSessionPage(
        items=[AdminSessionOut.of_admin(s) for s in items],
        next_cursor=session_cursor(items[-1]) if len(items) == limit else None,
    )


@router.get(
    "/v1/admin/exclusive-sessions/{session_id}",
    response_model=AdminSessionOut,
    responses=problems(*ADMIN, SessionNotFoundError),
)
async def get_session(
    session_id: uuid.UUID, admin: AdminUser, deps: SessionsDeps
) -> AdminSessionOut:
    return AdminSessionOut.of_admin(await admin_handlers.get_session(deps, session_id=session_id))


@router.post(
    "/v1/admin/exclusive-sessions/{session_id}/complete",
    response_model=RedemptionOut,
    responses=problems(*ADMIN, SessionNotFoundError, SessionStateConflictError),
    summary="Complete a session on the merchant's behalf (confirmed_via admin; audited)",
)
async def complete_session(
    session_id: uuid.UUID, admin: AdminUser, deps: SessionsDeps, body: AdminActionBody | None = None
) -> RedemptionOut:
    done = await completion_handlers.admin_complete(
        deps,
        session_id=session_id,
        action=AdminAction(admin.user_id, current_request_id(), body.reason if body else None),
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


@router.post(
    "/v1/admin/exclusive-sessions/{session_id}/cancel",
    response_model=AdminSessionOut,
    responses=problems(*ADMIN, SessionNotFoundError, SessionStateConflictError),
    summary="Cancel a session (audited)",
)
async def cancel_session(
    session_id: uuid.UUID, admin: AdminUser, deps: SessionsDeps, body: AdminActionBody | None = None
) -> AdminSessionOut:
    session = await admin_handlers.cancel_session(
        deps,
        session_id=session_id,
        action=AdminAction(admin.user_id, current_request_id(), body.reason if body else None),
    )
    return AdminSessionOut.of_admin(session)
