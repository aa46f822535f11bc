"""Admin HTTP routes of payments (``/v1/admin/...``; ``/v1/admin/payments/...`` at the gateway).

POST /v1/admin/grants            {driver_id | merchant_id, nova, reason} + Idempotency-Key
GET  /v1/admin/kill-switches     every switch with who, why and when
PUT  /v1/admin/kill-switches     {name, enabled, reason}   (audited)
GET  /v1/admin/parked-rewards    rewards waiting for earning to reopen
"""

# No `from __future__ import annotations`: FastAPI must see the local Annotated aliases.

import uuid
from datetime import datetime
from typing import Annotated, Self

from common.auth_dependencies import AdminUser
from common.openapi_errors import ADMIN, problems
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from payments import errors as e
from payments import grant_handlers, kill_switch_handlers, reward_handlers
from payments.api import IDEMPOTENT, Deps, IdempotencyKey, NovaAmount, idempotent_request, send
from payments.kill_switch_store import SwitchRow
from payments.kill_switches import Switch

router = APIRouter(tags=["admin"])

GRANTS = "/v1/admin/grants"


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    driver_id: uuid.UUID | None = None
    merchant_id: uuid.UUID | None = None
    nova: NovaAmount
    reason: str = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.driver_id is None) == (self.merchant_id is None):
            raise ValueError("give exactly one of driver_id and merchant_id")
        return self


class GrantOut(BaseModel):
    grant_id: uuid.UUID
    driver_id: uuid.UUID | None = None
    merchant_id: uuid.UUID | None = None
    nova: int
    reason: str
    balance: int


@router.post(
    GRANTS,
    status_code=201,
    response_model=GrantOut,
    responses=problems(
        *ADMIN,
        *IDEMPOTENT,
        e.MoneyMovementDisabledError,
        e.DriverNotFoundError,
        e.MerchantNotFoundError,
    ),
)
async def post_grant(
    body: GrantIn, deps: Deps, admin: AdminUser, idempotency_key: IdempotencyKey = None
) -> Response:
    request = idempotent_request(
        deps,
        scope=f"POST {GRANTS}",
        principal=admin.user_id,
        key=idempotency_key,
        method="POST",
        path=GRANTS,
        body=body,
    )
    outcome = await grant_handlers.grant(
        deps,
        admin_id=admin.user_id,
        driver_id=body.driver_id,
        merchant_id=body.merchant_id,
        nova=body.nova,
        reason=body.reason,
        request=request,
    )
    return send(outcome)


class KillSwitchOut(BaseModel):
    name: Switch
    enabled: bool
    reason: str
    updated_by: str
    updated_at: datetime


class KillSwitchesOut(BaseModel):
    items: list[KillSwitchOut]


class KillSwitchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Switch
    enabled: bool
    reason: str = Field(min_length=1, max_length=500)


def _switch_out(row: SwitchRow) -> KillSwitchOut:
    return KillSwitchOut(
        name=row.name,
        enabled=row.enabled,
        reason=row.reason,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


KILL_SWITCHES = "/v1/admin/kill-switches"


@router.get(KILL_SWITCHES, responses=problems(*ADMIN))
async def get_kill_switches(deps: Deps, admin: AdminUser) -> KillSwitchesOut:
    rows = await kill_switch_handlers.list_switches(deps)
    return KillSwitchesOut(items=[_switch_out(r) for r in rows])


@router.put(KILL_SWITCHES, responses=problems(*ADMIN, e.KillSwitchNotFoundError))
async def put_kill_switch(body: KillSwitchIn, deps: Deps, admin: AdminUser) -> KillSwitchOut:
    row = await kill_switch_handlers.set_switch(
        deps, name=body.name, enabled=body.enabled, reason=body.reason, actor=str(admin.user_id)
    )
    return _switch_out(row)


class ParkedRewardOut(BaseModel):
    session_id: uuid.UUID
    driver_id: uuid.UUID
    merchant_id: uuid.UUID
    reward_nova: int
    reason: str
    parked_at: datetime
    applied_at: datetime | None
    ledger_transaction_id: uuid.UUID | None


class ParkedRewardsOut(BaseModel):
    items: list[ParkedRewardOut]
    total: int


@router.get("/v1/admin/parked-rewards", responses=problems(*ADMIN))
async def get_parked_rewards(
    deps: Deps,
    admin: AdminUser,
    waiting: Annotated[bool, Query(description="only rewards not yet applied")] = True,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ParkedRewardsOut:
    rows, total = await reward_handlers.list_parked_rewards(deps, waiting_only=waiting, limit=limit)
    return ParkedRewardsOut(
        items=[
            ParkedRewardOut(
                session_id=r.session_id,
                driver_id=r.driver_id,
                merchant_id=r.merchant_id,
                reward_nova=r.reward_nova,
                reason=r.reason,
                parked_at=r.parked_at,
                applied_at=r.applied_at,
                ledger_transaction_id=r.ledger_transaction_id,
            )
            for r in rows
        ],
        total=total,
    )
