"""Request and response models shared by the route modules, and the route dependencies."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated

from common.auth_dependencies import require_role
from common.jwt_verification import InsufficientScopeError, VerifiedToken
from common.openapi_errors import SIGNED_IN, ErrorSpec, documented_pattern
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict

from sessions.deps import Deps
from sessions.errors import InvalidCursorError
from sessions.merchant_rules import E164_PATTERN
from sessions.records import ExclusiveSession


async def get_deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


SessionsDeps = Annotated[Deps, Depends(get_deps)]
Driver = Annotated[VerifiedToken, Depends(require_role("driver"))]
MerchantOwner = Annotated[VerifiedToken, Depends(require_role("merchant", "admin"))]
# What a route behind ``require_role`` answers before its handler runs (common.openapi_errors).
WITH_ROLE: tuple[ErrorSpec, ...] = (*SIGNED_IN, InsufficientScopeError)
# A notification phone's shape; the handler checks it (and its country): invalid_phone_number.
PHONE_SHAPE = documented_pattern(E164_PATTERN)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SessionOut(BaseModel):
    id: uuid.UUID
    merchant_id: uuid.UUID
    charger_id: uuid.UUID
    status: str
    offer_code: str
    reward_nova: int
    merchant_unreachable: bool
    created_at: datetime
    expires_at: datetime
    arrived_at: datetime | None
    merchant_notified_at: datetime | None
    ended_at: datetime | None
    ended_reason: str | None
    confirmed_via: str | None

    @classmethod
    def of(cls, s: ExclusiveSession) -> SessionOut:
        return cls(
            id=s.id,
            merchant_id=s.merchant_id,
            charger_id=s.charger_id,
            status=s.visible_status(datetime.now(UTC)).value,
            offer_code=s.offer_code,
            reward_nova=s.reward_nova,
            merchant_unreachable=s.notify_status == "merchant_unreachable",
            created_at=s.created_at,
            expires_at=s.expires_at,
            arrived_at=s.arrived_at,
            merchant_notified_at=s.merchant_notified_at,
            ended_at=s.ended_at,
            ended_reason=s.ended_reason,
            confirmed_via=s.confirmed_via,
        )


class AdminSessionOut(SessionOut):
    user_id: uuid.UUID
    stored_status: str
    reply_code: str
    billing_amount_minor: int
    currency: str
    notify_status: str | None
    renotified_at: datetime | None

    @classmethod
    def of_admin(cls, s: ExclusiveSession) -> AdminSessionOut:
        return cls(
            **SessionOut.of(s).model_dump(),
            user_id=s.user_id,
            stored_status=s.status.value,
            reply_code=s.reply_code,
            billing_amount_minor=s.billing_amount_minor,
            currency=s.currency,
            notify_status=s.notify_status.value if s.notify_status else None,
            renotified_at=s.renotified_at,
        )


def session_cursor(s: ExclusiveSession) -> str:
    raw = json.dumps({"t": s.created_at.isoformat(), "id": str(s.id)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_session_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """A cursor only says where a page starts; it carries no authority (queries filter by the
    caller), so one minted for another user shows nothing of theirs."""
    if cursor is None:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        at = datetime.fromisoformat(data["t"])
        if at.tzinfo is None:
            raise ValueError("naive time")
        return at, uuid.UUID(data["id"])
    except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError):
        raise InvalidCursorError("The cursor is not one this service issued.") from None
