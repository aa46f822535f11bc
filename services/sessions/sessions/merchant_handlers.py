"""Merchants: created and updated by an admin; read, and their notification phone changed, by
their owner. Ownership is part of the query: another owner's merchant is simply not found."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from common.jwt_verification import VerifiedToken
from sqlalchemy.ext.asyncio import AsyncSession

from sessions import audit_repository, merchant_repository
from sessions import session_repository as repo
from sessions.access import ADMIN, owner_filter, require_merchant
from sessions.contracts import MerchantCreatedV1, MerchantUpdatedV1
from sessions.deps import Deps
from sessions.errors import MerchantNotFoundError
from sessions.geo import point
from sessions.merchant_repository import MerchantFields
from sessions.merchant_rules import check_billing, check_reward, e164_phone, mask_phone
from sessions.records import ExclusiveSession, Merchant

ADMIN_EDITABLE = (
    "name",
    "lat",
    "lng",
    "offer_title",
    "billing_amount_minor",
    "currency",
    "reward_nova",
    "active",
    "owner_user_id",
)


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID
    request_id: str | None


def _merchant(deps: Deps, row: Any) -> Merchant:
    return merchant_repository.to_merchant(row, deps.phones.decrypt, mask_phone)


def _event(cls: type[MerchantCreatedV1] | type[MerchantUpdatedV1], m: Merchant) -> Any:
    return cls(
        merchant_id=m.id,
        owner_user_id=m.owner_user_id,
        name=m.name,
        billing_amount_minor=m.billing_amount_minor,
        currency=m.currency,
        reward_nova=m.reward_nova,
        active=m.active,
    )


async def create_merchant(
    deps: Deps,
    *,
    actor: Actor,
    owner_user_id: uuid.UUID,
    fields: MerchantFields,
    notification_phone: str,
) -> Merchant:
    limits = deps.merchant_limits
    point(fields.lat, fields.lng)
    check_billing(fields.billing_amount_minor, fields.currency, limits)
    check_reward(fields.reward_nova, limits)
    phone = deps.phones.encrypt(e164_phone(notification_phone, limits.phone_country_codes))
    merchant_id = uuid.uuid4()
    async with deps.uow() as tx:
        row = await merchant_repository.insert(tx, merchant_id, owner_user_id, fields, phone)
        merchant = _merchant(deps, row)
        await deps.outbox.add(tx, _event(MerchantCreatedV1, merchant))
        await _audit(tx, actor, "merchant.create", merchant_id, {"name": fields.name})
    return merchant


async def update_merchant(
    deps: Deps,
    *,
    actor: Actor,
    merchant_id: uuid.UUID,
    changes: dict[str, Any],
    notification_phone: str | None = None,
) -> Merchant:
    """Admin update of any subset of the merchant's fields; validated as on creation."""
    limits = deps.merchant_limits
    values = {k: v for k, v in changes.items() if k in ADMIN_EDITABLE}
    phone = None
    if notification_phone is not None:
        phone = deps.phones.encrypt(e164_phone(notification_phone, limits.phone_country_codes))
    async with deps.uow() as tx:
        current = await merchant_repository.get_row(tx, merchant_id)
        if current is None:
            raise MerchantNotFoundError("No such merchant.")
        merged = {**current, **values}
        point(merged["lat"], merged["lng"])
        check_billing(merged["billing_amount_minor"], merged["currency"], limits)
        check_reward(merged["reward_nova"], limits)
        row = await merchant_repository.update(
            tx, merchant_id, owner_user_id=None, values=values, phone=phone
        )
        assert row is not None
        merchant = _merchant(deps, row)
        await deps.outbox.add(tx, _event(MerchantUpdatedV1, merchant))
        audited = sorted(values) + (["notification_phone"] if phone else [])
        await _audit(tx, actor, "merchant.update", merchant_id, {"fields": audited})
    return merchant


async def get_merchant(deps: Deps, *, user: VerifiedToken, merchant_id: uuid.UUID) -> Merchant:
    owner = owner_filter(user)
    async with deps.uow() as tx:
        row = await merchant_repository.get_row(tx, merchant_id, owner_user_id=owner)
    if row is None:
        raise MerchantNotFoundError("No such merchant.")
    return _merchant(deps, row)


async def set_notification_phone(
    deps: Deps, *, user: VerifiedToken, merchant_id: uuid.UUID, phone: str
) -> Merchant:
    """The owner changes where arrival SMS go (the old system let anyone do this: P0-11)."""
    encrypted = deps.phones.encrypt(e164_phone(phone, deps.merchant_limits.phone_country_codes))
    owner = owner_filter(user)
    async with deps.uow() as tx:
        row = await merchant_repository.update(
            tx, merchant_id, owner_user_id=owner, values={}, phone=encrypted
        )
        if row is None:
            raise MerchantNotFoundError("No such merchant.")
        if user.role == ADMIN:
            await _audit(
                tx,
                Actor(user.user_id, None),
                "merchant.notification_phone",
                merchant_id,
                {},
            )
    return _merchant(deps, row)


async def arrivals(
    deps: Deps, *, user: VerifiedToken, merchant_id: uuid.UUID
) -> list[ExclusiveSession]:
    """The merchant's open sessions with their offer codes (owner or admin only)."""
    async with deps.uow() as tx:
        await require_merchant(tx, user, merchant_id)
        return await repo.open_at_merchant(tx, merchant_id)


async def _audit(
    tx: AsyncSession, actor: Actor, action: str, target: uuid.UUID, details: dict[str, Any]
) -> None:
    await audit_repository.record(
        tx,
        actor_user_id=actor.user_id,
        action=action,
        target_kind="merchant",
        target_id=target,
        details=details,
        request_id=actor.request_id,
    )
