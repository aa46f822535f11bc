"""``/v1/admin/sms-deliveries``: SMS deliveries for ops (admin only; phones masked).

    GET /v1/admin/sms-deliveries          filters: status, reference_kind, reference_id,
                                          since, until; keyset pages (limit, cursor)
    GET /v1/admin/sms-deliveries/{id}     one delivery with its attempts and callbacks

The dead letters of ``notifications.sms.send`` are the backbone's ``/v1/admin/dead-letters``.
"""

# No `from __future__ import annotations`: FastAPI must see the route signatures' types.

import base64
import binascii
import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from common.auth_dependencies import AdminUser
from common.errors import DependencyUnavailable, InvalidInput
from common.openapi_errors import ADMIN, problems
from fastapi import APIRouter, Query, Request

from notifications.admin_handlers import list_deliveries, show_delivery
from notifications.delivery_queries import DeliveryFilter
from notifications.deps import Deps

PREFIX = "/v1/admin/sms-deliveries"
Status = Literal[
    "pending",
    "dead_lettered",
    "resend_scheduled",
    "accepted",
    "scheduled",
    "queued",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "read",
]

router = APIRouter(prefix=PREFIX, tags=["admin"])

ADMIN_RESPONSES = problems(*ADMIN, InvalidInput, DependencyUnavailable)
SHOW_RESPONSES = problems(*ADMIN, InvalidInput, DependencyUnavailable, (404, "delivery_not_found"))


def _deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


def _cursor(created_at: datetime, delivery_id: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}|{delivery_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, delivery_id = raw.partition("|")
        return datetime.fromisoformat(at), uuid.UUID(delivery_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("The cursor is not one this API gave out.", field="cursor") from None


@router.get("", responses=ADMIN_RESPONSES)
async def list_sms_deliveries(
    request: Request,
    _: AdminUser,
    status: Status | None = None,
    reference_kind: Annotated[str | None, Query(max_length=64)] = None,
    reference_id: Annotated[str | None, Query(max_length=128)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Newest first. ``next_cursor`` continues the listing (absent on the last page)."""
    if since and until and since >= until:
        raise InvalidInput("since must be before until.", field="since")
    views = await list_deliveries(
        _deps(request),
        DeliveryFilter(
            status=status,
            reference_kind=reference_kind,
            reference_id=reference_id,
            since=since,
            until=until,
            after=_after(cursor),
            limit=limit,
        ),
    )
    last = views[-1] if len(views) == limit else None
    return {
        "items": [asdict(v) for v in views],
        "next_cursor": _cursor(last.created_at, last.id) if last else None,
    }


@router.get("/{delivery_id}", responses=SHOW_RESPONSES)
async def show_sms_delivery(
    request: Request, _: AdminUser, delivery_id: uuid.UUID
) -> dict[str, Any]:
    return asdict(await show_delivery(_deps(request), delivery_id))
