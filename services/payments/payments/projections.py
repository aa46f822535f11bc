"""What payments keeps of other services' facts: merchants (from sessions' merchant events)
and the drivers it has seen (from rewards), given the transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from common.direct_sql import compile_statement
from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from payments import tables

m = tables.merchants.c


@dataclass(frozen=True, slots=True)
class MerchantView:
    merchant_id: uuid.UUID
    owner_user_id: uuid.UUID
    name: str
    billing_amount_minor: int
    currency: str
    reward_nova: int
    active: bool


async def upsert_merchant(tx: AsyncSession, merchant: MerchantView, occurred_at: datetime) -> None:
    """Applies a merchant fact unless a newer one was already applied (out-of-order safe)."""
    values = {
        "merchant_id": merchant.merchant_id,
        "owner_user_id": merchant.owner_user_id,
        "name": merchant.name,
        "billing_amount_minor": merchant.billing_amount_minor,
        "currency": merchant.currency,
        "reward_nova": merchant.reward_nova,
        "active": merchant.active,
        "source_occurred_at": occurred_at,
    }
    statement = insert(tables.merchants).values(**values)
    await tx.execute(
        statement.on_conflict_do_update(
            index_elements=[m.merchant_id],
            set_={key: statement.excluded[key] for key in values if key != "merchant_id"},
            where=m.source_occurred_at <= statement.excluded.source_occurred_at,
        )
    )


MERCHANT_STATUS = compile_statement(
    select(m.active).where(m.merchant_id == bindparam("merchant_id"))
)
"""Whether a merchant exists and is active, as one statement for the direct pool."""


async def get_merchant(tx: AsyncSession, merchant_id: uuid.UUID) -> MerchantView | None:
    row = (await tx.execute(select(tables.merchants).where(m.merchant_id == merchant_id))).first()
    if row is None:
        return None
    return MerchantView(
        merchant_id=row.merchant_id,
        owner_user_id=row.owner_user_id,
        name=row.name,
        billing_amount_minor=row.billing_amount_minor,
        currency=row.currency,
        reward_nova=row.reward_nova,
        active=row.active,
    )


async def record_driver(tx: AsyncSession, driver_id: uuid.UUID) -> None:
    await tx.execute(insert(tables.drivers).values(driver_id=driver_id).on_conflict_do_nothing())


async def driver_known(tx: AsyncSession, driver_id: uuid.UUID) -> bool:
    d = tables.drivers.c
    return (
        await tx.execute(select(d.driver_id).where(d.driver_id == driver_id))
    ).first() is not None
