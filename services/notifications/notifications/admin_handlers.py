"""Use cases of the ops API: SMS deliveries with their attempts and callbacks, phones masked."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from common.errors import NotFound

from notifications import delivery_queries as queries
from notifications.delivery_queries import DeliveryFilter
from notifications.deps import Deps
from notifications.phone_vault import PhoneKeyError, mask


@dataclass(frozen=True)
class DeliveryView:
    id: uuid.UUID
    delivery_key: str
    reference: dict[str, str]
    template: str
    to: str  # masked
    status: str
    error_code: int | None
    permanent: bool
    failure_reason: str | None
    message_sid: str | None
    reply_code: str | None
    replied_at: datetime | None
    created_at: datetime
    updated_at: datetime
    attempts: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)


async def list_deliveries(deps: Deps, where: DeliveryFilter) -> list[DeliveryView]:
    async with deps.uow() as tx:
        rows = await queries.deliveries(tx, where)
        attempts = await queries.attempts_of(tx, [row.id for row in rows])
        callbacks = await queries.callbacks_of(tx, rows)
    return [_view(deps, row, attempts[row.id], callbacks[row.id]) for row in rows]


async def show_delivery(deps: Deps, delivery_id: uuid.UUID) -> DeliveryView:
    async with deps.uow() as tx:
        row = await queries.delivery(tx, delivery_id)
        if row is None:
            raise NotFound("No SMS delivery has this id.", code="delivery_not_found")
        attempts = await queries.attempts_of(tx, [row.id])
        callbacks = await queries.callbacks_of(tx, [row])
    return _view(deps, row, attempts[row.id], callbacks[row.id])


def _masked(deps: Deps, row: Any) -> str:
    try:
        return mask(deps.phones.open(row.phone_key_id, row.phone_ciphertext))
    except PhoneKeyError:
        return "(undecryptable)"


def _view(deps: Deps, row: Any, attempts: list[Any], callbacks: list[Any]) -> DeliveryView:
    return DeliveryView(
        id=row.id,
        delivery_key=row.delivery_key,
        reference={"kind": row.reference_kind, "id": row.reference_id},
        template=row.template,
        to=_masked(deps, row),
        status=row.status,
        error_code=row.error_code,
        permanent=row.permanent,
        failure_reason=row.failure_reason,
        message_sid=row.message_sid,
        reply_code=row.reply_code,
        replied_at=row.replied_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        attempts=[
            {
                "n": x.n,
                "started_at": x.started_at,
                "finished_at": x.finished_at,
                "outcome": x.outcome,
                "message_sid": x.message_sid,
                "http_status": x.http_status,
                "error_code": x.error_code,
            }
            for x in attempts
        ],
        callbacks=[
            {
                "message_sid": x.message_sid,
                "status": x.message_status,
                "error_code": x.error_code,
                "applied": x.applied,
                "received_at": x.received_at,
            }
            for x in callbacks
        ],
    )
