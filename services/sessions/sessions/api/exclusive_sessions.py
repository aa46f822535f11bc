"""A driver's exclusive sessions: activate, report arrival, cancel, read (own sessions only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from common.openapi_errors import problems
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from sessions import session_handlers
from sessions.api.schemas import (
    WITH_ROLE,
    Body,
    Driver,
    SessionOut,
    SessionsDeps,
    parse_session_cursor,
    session_cursor,
)
from sessions.errors import (
    ChargerNotFoundError,
    InvalidCursorError,
    MerchantNotFoundError,
    MerchantNotNearChargerError,
    SessionNotFoundError,
    SessionStateConflictError,
)

router = APIRouter(tags=["exclusive sessions"])


class ActivateBody(Body):
    merchant_id: uuid.UUID
    charger_id: uuid.UUID


class SessionPage(BaseModel):
    items: list[SessionOut]
    next_cursor: str | None


def _json(model: BaseModel, status_code: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


@router.post(
    "/v1/exclusive-sessions",
    status_code=201,
    response_model=SessionOut,
    responses={
        200: {"model": SessionOut, "description": "The driver's open session at this merchant"},
        **problems(
            *WITH_ROLE,
            ChargerNotFoundError,
            MerchantNotFoundError,
            SessionStateConflictError,
            MerchantNotNearChargerError,
        ),
    },
    summary="Activate a merchant's deal (201 new, 200 the open one)",
)
async def activate(body: ActivateBody, driver: Driver, deps: SessionsDeps) -> Response:
    activation = await session_handlers.activate(
        deps, driver_id=driver.user_id, merchant_id=body.merchant_id, charger_id=body.charger_id
    )
    return _json(SessionOut.of(activation.session), 201 if activation.created else 200)


@router.get(
    "/v1/exclusive-sessions",
    response_model=SessionPage,
    responses=problems(*WITH_ROLE, InvalidCursorError),
    summary="My sessions, newest first",
)
async def list_mine(
    driver: Driver,
    deps: SessionsDeps,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> SessionPage:
    items = await session_handlers.list_mine(
        deps, driver_id=driver.user_id, limit=limit, after=parse_session_cursor(cursor)
    )
    return SessionPage(
        items=[SessionOut.of(s) for s in items],
        next_cursor=session_cursor(items[-1]) if len(items) == limit else None,
    )


@router.get(
    "/v1/exclusive-sessions/{session_id}",
    response_model=SessionOut,
    responses=problems(*WITH_ROLE, SessionNotFoundError),
)
async def get_mine(session_id: uuid.UUID, driver: Driver, deps: SessionsDeps) -> SessionOut:
    session = await session_handlers.get_mine(deps, driver_id=driver.user_id, session_id=session_id)
    return SessionOut.of(session)


@router.post(
    "/v1/exclusive-sessions/{session_id}/arrival",
    response_model=SessionOut,
    responses=problems(*WITH_ROLE, SessionNotFoundError, SessionStateConflictError),
    summary="I am at the merchant: the merchant gets an SMS",
)
async def report_arrival(session_id: uuid.UUID, driver: Driver, deps: SessionsDeps) -> SessionOut:
    session = await session_handlers.report_arrival(
        deps, driver_id=driver.user_id, session_id=session_id
    )
    return SessionOut.of(session)


@router.post(
    "/v1/exclusive-sessions/{session_id}/cancel",
    response_model=SessionOut,
    responses=problems(*WITH_ROLE, SessionNotFoundError, SessionStateConflictError),
)
async def cancel(session_id: uuid.UUID, driver: Driver, deps: SessionsDeps) -> SessionOut:
    session = await session_handlers.cancel(deps, driver_id=driver.user_id, session_id=session_id)
    return SessionOut.of(session)
