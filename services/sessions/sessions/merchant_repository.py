"""Merchants <-> rows. The notification phone is stored encrypted (plus a keyed lookup hash);
reads give records with the masked phone, and only the SMS path asks for the number itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncSession

from sessions.geo import Point
from sessions.phone_crypto import EncryptedPhone
from sessions.records import BillingEvent, Merchant

COLUMNS = (
    "id, owner_user_id, name, lat, lng, phone_key_id, phone_ciphertext, offer_title, "
    "billing_amount_minor, currency, reward_nova, active, created_at, updated_at"
)
M_COLUMNS = ", ".join(f"m.{c.strip()}" for c in COLUMNS.split(","))

Decrypt = Callable[[str, bytes], str]
Mask = Callable[[str], str]


@dataclass(frozen=True)
class MerchantFields:
    name: str
    lat: float
    lng: float
    offer_title: str
    billing_amount_minor: int
    currency: str
    reward_nova: int
    active: bool


@dataclass(frozen=True)
class AdminMerchantRow:
    merchant: Merchant
    open_sessions: int
    last_billing_event: BillingEvent | None


def to_merchant(row: RowMapping, reveal: Decrypt | None, mask: Mask) -> Merchant:
    """``reveal`` None: the phone is not needed (public listings), and never decrypted."""
    masked = mask(reveal(row["phone_key_id"], row["phone_ciphertext"])) if reveal else None
    return Merchant(
        id=row["id"],
        owner_user_id=row["owner_user_id"],
        name=row["name"],
        lat=row["lat"],
        lng=row["lng"],
        phone_masked=masked,
        offer_title=row["offer_title"],
        billing_amount_minor=row["billing_amount_minor"],
        currency=row["currency"],
        reward_nova=row["reward_nova"],
        active=row["active"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def insert(
    tx: AsyncSession,
    merchant_id: uuid.UUID,
    owner_user_id: uuid.UUID,
    fields: MerchantFields,
    phone: EncryptedPhone,
) -> RowMapping:
    result = await tx.execute(
        text(
            "INSERT INTO merchants (id, owner_user_id, name, lat, lng, phone_key_id, "
            "phone_ciphertext, phone_hash, offer_title, billing_amount_minor, currency, "
            "reward_nova, active) VALUES (:id, :owner, :name, :lat, :lng, :key_id, :cipher, "
            ":hash, :offer_title, :amount, :currency, :reward, :active) "
            f"RETURNING {COLUMNS}"
        ),
        {
            "id": merchant_id,
            "owner": owner_user_id,
            **_field_params(fields),
            "key_id": phone.key_id,
            "cipher": phone.ciphertext,
            "hash": phone.lookup_hash,
        },
    )
    return result.mappings().one()


def _field_params(fields: MerchantFields) -> dict[str, Any]:
    return {
        "name": fields.name,
        "lat": fields.lat,
        "lng": fields.lng,
        "offer_title": fields.offer_title,
        "amount": fields.billing_amount_minor,
        "currency": fields.currency,
        "reward": fields.reward_nova,
        "active": fields.active,
    }


async def update(
    tx: AsyncSession,
    merchant_id: uuid.UUID,
    *,
    owner_user_id: uuid.UUID | None,
    values: Mapping[str, Any],
    phone: EncryptedPhone | None = None,
) -> RowMapping | None:
    """Sets ``values`` (column -> value) and the phone; with ``owner_user_id``, only on a
    merchant that user owns (None: not found, which is what everyone else sees)."""
    assignments = [f"{column} = :v_{column}" for column in values]
    params: dict[str, Any] = {"id": merchant_id, **{f"v_{k}": v for k, v in values.items()}}
    if phone is not None:
        assignments += [
            "phone_key_id = :key_id",
            "phone_ciphertext = :cipher",
            "phone_hash = :hash",
        ]
        params.update(key_id=phone.key_id, cipher=phone.ciphertext, hash=phone.lookup_hash)
    where = "id = :id"
    if owner_user_id is not None:
        where += " AND owner_user_id = :owner"
        params["owner"] = owner_user_id
    result = await tx.execute(
        text(
            f"UPDATE merchants SET {', '.join([*assignments, 'updated_at = now()'])} "
            f"WHERE {where} RETURNING {COLUMNS}"
        ),
        params,
    )
    return result.mappings().first()


async def get_row(
    tx: AsyncSession,
    merchant_id: uuid.UUID,
    *,
    owner_user_id: uuid.UUID | None = None,
    active_only: bool = False,
) -> RowMapping | None:
    where = "id = :id"
    params: dict[str, Any] = {"id": merchant_id}
    if owner_user_id is not None:
        where += " AND owner_user_id = :owner"
        params["owner"] = owner_user_id
    if active_only:
        where += " AND active"
    result = await tx.execute(text(f"SELECT {COLUMNS} FROM merchants WHERE {where}"), params)
    return result.mappings().first()


async def owns(tx: AsyncSession, merchant_id: uuid.UUID, owner_user_id: uuid.UUID) -> bool:
    result = await tx.execute(
        text("SELECT 1 FROM merchants WHERE id = :id AND owner_user_id = :owner"),
        {"id": merchant_id, "owner": owner_user_id},
    )
    return result.first() is not None


async def exists(tx: AsyncSession, merchant_id: uuid.UUID) -> bool:
    result = await tx.execute(text("SELECT 1 FROM merchants WHERE id = :id"), {"id": merchant_id})
    return result.first() is not None


async def near(tx: AsyncSession, at: Point, *, radius_m: float, limit: int) -> list[RowMapping]:
    """Active merchants around ``at``, nearest first (GiST KNN on the partial index)."""
    result = await tx.execute(
        text(
            f"SELECT {COLUMNS} FROM merchants WHERE active AND "
            "public.earth_box(sessions.ll_to_earth_q(:lat, :lng), :radius) "
            "@> sessions.ll_to_earth_q(lat, lng) "
            "ORDER BY sessions.ll_to_earth_q(lat, lng) <-> sessions.ll_to_earth_q(:lat, :lng) "
            "LIMIT :limit"
        ),
        {"lat": at.lat, "lng": at.lng, "radius": radius_m, "limit": limit},
    )
    return list(result.mappings())


async def activation_snapshot(
    tx: AsyncSession, merchant_id: uuid.UUID, charger_id: uuid.UUID
) -> RowMapping | None:
    """The active merchant's billing terms and both locations, in one round trip."""
    result = await tx.execute(
        text(
            "SELECT m.billing_amount_minor, m.currency, m.reward_nova, m.lat AS m_lat, "
            "m.lng AS m_lng, c.lat AS c_lat, c.lng AS c_lng "
            "FROM merchants m CROSS JOIN chargers c "
            "WHERE m.id = :merchant_id AND m.active AND c.id = :charger_id"
        ),
        {"merchant_id": merchant_id, "charger_id": charger_id},
    )
    return result.mappings().first()


async def sms_target(tx: AsyncSession, merchant_id: uuid.UUID) -> RowMapping:
    """What an SMS to the merchant needs: name, offer title, the encrypted phone."""
    result = await tx.execute(
        text(
            "SELECT name, offer_title, phone_key_id, phone_ciphertext FROM merchants WHERE id = :id"
        ),
        {"id": merchant_id},
    )
    return result.mappings().one()


async def admin_page(tx: AsyncSession, *, limit: int, after: uuid.UUID | None) -> list[RowMapping]:
    """One statement for the whole page: each merchant with its open-session count and its
    last billing event (LATERAL subqueries on indexed columns), keyset-paginated by id."""
    keyset = "WHERE m.id > :after" if after is not None else ""
    params: dict[str, Any] = {"limit": limit}
    if after is not None:
        params["after"] = after
    result = await tx.execute(
        text(
            f"SELECT {M_COLUMNS}, o.open_sessions, b.id AS b_id, b.session_id AS b_session_id, "
            "b.amount_minor AS b_amount_minor, b.currency AS b_currency, "
            "b.created_at AS b_created_at "
            f"FROM merchants m "
            "CROSS JOIN LATERAL (SELECT count(*) AS open_sessions FROM exclusive_sessions s "
            "  WHERE s.merchant_id = m.id AND s.status IN ('active', 'arrived', "
            "  'merchant_notified')) o "
            "LEFT JOIN LATERAL (SELECT id, session_id, amount_minor, currency, created_at "
            "  FROM billing_events e WHERE e.merchant_id = m.id "
            "  ORDER BY e.created_at DESC LIMIT 1) b ON TRUE "
            f"{keyset} ORDER BY m.id LIMIT :limit"
        ),
        params,
    )
    return list(result.mappings())


def billing_from_admin_row(row: RowMapping, merchant_id: uuid.UUID) -> BillingEvent | None:
    if row["b_id"] is None:
        return None
    return BillingEvent(
        id=row["b_id"],
        session_id=row["b_session_id"],
        merchant_id=merchant_id,
        amount_minor=row["b_amount_minor"],
        currency=row["b_currency"],
        created_at=row["b_created_at"],
    )
