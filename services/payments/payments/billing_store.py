"""Rows of merchant billing: the merchant's Stripe customer and method, and the charges."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class MerchantBilling:
    merchant_id: uuid.UUID
    stripe_customer_id: str | None
    default_payment_method_id: str | None


@dataclass(frozen=True)
class Charge:
    billing_event_id: uuid.UUID
    merchant_id: uuid.UUID
    session_id: uuid.UUID
    amount_minor: int
    currency: str
    status: str
    stripe_request: dict[str, Any] | None
    stripe_payment_intent_id: str | None
    error_code: str | None
    attempts: int

    @property
    def settled(self) -> bool:
        return self.status in ("succeeded", "failed")


_CHARGE_COLUMNS = (
    "billing_event_id, merchant_id, session_id, amount_minor, currency, status, stripe_request,"
    " stripe_payment_intent_id, error_code, attempts"
)


async def record_charge(
    tx: AsyncSession,
    *,
    billing_event_id: uuid.UUID,
    merchant_id: uuid.UUID,
    session_id: uuid.UUID,
    amount_minor: int,
    currency: str,
) -> bool:
    """One charge per billing event; False when it was recorded before."""
    result = await tx.execute(
        text(
            "INSERT INTO billing_charges"
            " (billing_event_id, merchant_id, session_id, amount_minor, currency, status)"
            " VALUES (:id, :merchant, :session, :amount, :currency, 'pending')"
            " ON CONFLICT (billing_event_id) DO NOTHING RETURNING billing_event_id"
        ),
        {
            "id": billing_event_id,
            "merchant": merchant_id,
            "session": session_id,
            "amount": amount_minor,
            "currency": currency.lower(),
        },
    )
    return result.first() is not None


async def charge(tx: AsyncSession, billing_event_id: uuid.UUID, *, lock: bool) -> Charge | None:
    suffix = " FOR UPDATE" if lock else ""
    row = (
        await tx.execute(
            text(
                f"SELECT {_CHARGE_COLUMNS} FROM billing_charges WHERE billing_event_id = :id"
                + suffix
            ),
            {"id": billing_event_id},
        )
    ).first()
    return None if row is None else Charge(**row._mapping)


async def update_charge(tx: AsyncSession, billing_event_id: uuid.UUID, **values: Any) -> None:
    sets = ", ".join(f"{name} = :{name}" for name in values)
    params = dict(values, id=billing_event_id)
    if "stripe_request" in params:
        sets = sets.replace(":stripe_request", "CAST(:stripe_request AS jsonb)")
    await tx.execute(
        text(f"UPDATE billing_charges SET {sets}, updated_at = now() WHERE billing_event_id = :id"),
        params,
    )


async def waiting_charges(tx: AsyncSession, merchant_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await tx.execute(
        text(
            "UPDATE billing_charges SET status = 'pending', updated_at = now()"
            " WHERE merchant_id = :merchant AND status = 'awaiting_payment_method'"
            " RETURNING billing_event_id"
        ),
        {"merchant": merchant_id},
    )
    return [row[0] for row in rows]


async def merchant_billing(
    tx: AsyncSession, merchant_id: uuid.UUID, *, lock: bool = False
) -> MerchantBilling | None:
    suffix = " FOR UPDATE" if lock else ""
    row = (
        await tx.execute(
            text(
                "SELECT merchant_id, stripe_customer_id, default_payment_method_id"
                " FROM merchant_billing WHERE merchant_id = :merchant" + suffix
            ),
            {"merchant": merchant_id},
        )
    ).first()
    return None if row is None else MerchantBilling(**row._mapping)


async def store_customer(
    tx: AsyncSession, merchant_id: uuid.UUID, customer_id: str, *, actor: str
) -> None:
    await tx.execute(
        text(
            "INSERT INTO merchant_billing (merchant_id, stripe_customer_id, updated_by)"
            " VALUES (:merchant, :customer, :actor)"
            " ON CONFLICT (merchant_id) DO UPDATE SET"
            " stripe_customer_id = COALESCE(merchant_billing.stripe_customer_id,"
            " EXCLUDED.stripe_customer_id), updated_at = now()"
        ),
        {"merchant": merchant_id, "customer": customer_id, "actor": actor},
    )


async def store_payment_method(
    tx: AsyncSession, merchant_id: uuid.UUID, payment_method_id: str, *, actor: str
) -> None:
    await tx.execute(
        text(
            "UPDATE merchant_billing SET default_payment_method_id = :pm, updated_by = :actor,"
            " updated_at = now() WHERE merchant_id = :merchant"
        ),
        {"merchant": merchant_id, "pm": payment_method_id, "actor": actor},
    )
