"""Exclusive sessions <-> rows. Every transition is one guarded ``UPDATE … RETURNING``.

Statements are literal SQL: the ``ON CONFLICT … WHERE`` predicate must repeat the partial
index's predicate literally (a bound parameter there fails once Postgres switches to a generic
plan, on the 6th execution on a connection), and the hot paths stay one round trip each.
All times come from the database clock (``now()``), so every replica agrees on expiry.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from sessions.geo import MEAN_EARTH_RADIUS_M
from sessions.records import BillingEvent, ExclusiveSession
from sessions.session_states import OPEN_SQL, NotifyStatus, SessionStatus

COLUMNS = (
    "id, user_id, merchant_id, charger_id, status, offer_code, reply_code, "
    "billing_amount_minor, currency, reward_nova, notify_status, created_at, updated_at, "
    "expires_at, arrived_at, merchant_notified_at, renotified_at, ended_at, ended_reason, "
    "confirmed_via"
)
S_COLUMNS = ", ".join(f"s.{c.strip()}" for c in COLUMNS.split(","))
S_OPEN_SQL = "s." + OPEN_SQL

# The new open session, its billing terms copied from the merchant, when the merchant is active
# and within walking distance of the charger (the ``ON CONFLICT`` clause follows it).
INSERT_OPEN_SQL = """
    INSERT INTO exclusive_sessions (id, user_id, merchant_id, charger_id, status, offer_code,
        reply_code, billing_amount_minor, currency, reward_nova, expires_at)
    SELECT :id, :user_id, m.id, c.id, 'active', :offer_code, :reply_code,
        m.billing_amount_minor, m.currency, m.reward_nova,
        now() + make_interval(secs => :ttl_seconds)
    FROM merchants m JOIN chargers c ON c.id = :charger_id
    WHERE m.id = :merchant_id AND m.active
      AND public.earth_distance(sessions.ll_to_earth_q(m.lat, m.lng),
                                sessions.ll_to_earth_q(c.lat, c.lng))
          * (:mean_radius / public.earth()) <= :walking_m
"""
_INSERT = text(
    f"""{INSERT_OPEN_SQL}
    ON CONFLICT (user_id, merchant_id) WHERE {OPEN_SQL} DO NOTHING
    RETURNING {COLUMNS}
    """
)
_OPEN_FOR_PAIR = text(
    f"SELECT {COLUMNS} FROM exclusive_sessions "
    f"WHERE user_id = :user_id AND merchant_id = :merchant_id AND {OPEN_SQL}"
)
_NOW = text("SELECT now()")


class Row(Protocol):
    """A result row by column name: SQLAlchemy's ``RowMapping`` or an asyncpg ``Record``."""

    def __getitem__(self, key: str) -> Any: ...


def to_session(row: Row) -> ExclusiveSession:
    notify = row["notify_status"]
    return ExclusiveSession(
        id=row["id"],
        user_id=row["user_id"],
        merchant_id=row["merchant_id"],
        charger_id=row["charger_id"],
        status=SessionStatus(row["status"]),
        offer_code=row["offer_code"],
        reply_code=row["reply_code"],
        billing_amount_minor=row["billing_amount_minor"],
        currency=row["currency"],
        reward_nova=row["reward_nova"],
        notify_status=NotifyStatus(notify) if notify else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        expires_at=row["expires_at"],
        arrived_at=row["arrived_at"],
        merchant_notified_at=row["merchant_notified_at"],
        renotified_at=row["renotified_at"],
        ended_at=row["ended_at"],
        ended_reason=row["ended_reason"],
        confirmed_via=row["confirmed_via"],
    )


def _literal_list(statuses: Sequence[SessionStatus]) -> str:
    """Enum values only (never user text), so they are safe as literals."""
    return ", ".join(f"'{SessionStatus(s).value}'" for s in statuses)


def _one(result: Any) -> ExclusiveSession | None:
    row = result.mappings().first()
    return to_session(row) if row is not None else None


async def db_now(tx: AsyncSession) -> datetime:
    value: datetime = (await tx.execute(_NOW)).scalar_one()
    return value


async def insert_open(
    tx: AsyncSession,
    *,
    user_id: uuid.UUID,
    merchant_id: uuid.UUID,
    charger_id: uuid.UUID,
    offer_code: str,
    reply_code: str,
    ttl_seconds: int,
    walking_m: float,
) -> ExclusiveSession | None:
    """One statement: the new session, with the billing terms copied from the merchant, when
    the merchant is active and within ``walking_m`` of the charger and the driver has no open
    session there. None otherwise (the caller finds out which)."""
    result = await tx.execute(
        _INSERT,
        {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "merchant_id": merchant_id,
            "charger_id": charger_id,
            "offer_code": offer_code,
            "reply_code": reply_code,
            "ttl_seconds": ttl_seconds,
            "walking_m": walking_m,
            "mean_radius": MEAN_EARTH_RADIUS_M,
        },
    )
    return _one(result)


async def open_for_pair(
    tx: AsyncSession, user_id: uuid.UUID, merchant_id: uuid.UUID
) -> ExclusiveSession | None:
    return _one(await tx.execute(_OPEN_FOR_PAIR, {"user_id": user_id, "merchant_id": merchant_id}))


async def get(
    tx: AsyncSession, session_id: uuid.UUID, *, user_id: uuid.UUID | None = None
) -> ExclusiveSession | None:
    """The session; with ``user_id``, only if it is that driver's (else None: not found)."""
    owner = " AND user_id = :user_id" if user_id is not None else ""
    params: dict[str, Any] = {"id": session_id}
    if user_id is not None:
        params["user_id"] = user_id
    return _one(
        await tx.execute(
            text(f"SELECT {COLUMNS} FROM exclusive_sessions WHERE id = :id{owner}"), params
        )
    )


async def transition(
    tx: AsyncSession,
    session_id: uuid.UUID,
    *,
    sources: Sequence[SessionStatus],
    set_sql: str,
    params: Mapping[str, Any] | None = None,
    user_id: uuid.UUID | None = None,
    require_unexpired: bool = True,
    extra_where: str = "",
) -> ExclusiveSession | None:
    """One guarded update: the row moves only from one of ``sources`` (and, by default, only
    while unexpired). None when the guard did not match (the caller explains why)."""
    allowed = ", ".join(f"'{SessionStatus(s).value}'" for s in sources)
    where = ["id = :id", f"status IN ({allowed})"]
    values: dict[str, Any] = {"id": session_id, **(params or {})}
    if user_id is not None:
        where.append("user_id = :user_id")
        values["user_id"] = user_id
    if require_unexpired:
        where.append("expires_at > now()")
    if extra_where:
        where.append(extra_where)
    statement = text(
        f"UPDATE exclusive_sessions SET {set_sql}, updated_at = now() "
        f"WHERE {' AND '.join(where)} RETURNING {COLUMNS}"
    )
    return _one(await tx.execute(statement, values))


async def complete_by(
    tx: AsyncSession, *, match_sql: str, params: Mapping[str, Any], confirmed_via: str
) -> ExclusiveSession | None:
    """open -> completed for the one open, unexpired session matching ``match_sql``."""
    statement = text(
        "UPDATE exclusive_sessions SET status = 'completed', ended_at = now(), "
        "updated_at = now(), confirmed_via = :confirmed_via "
        f"WHERE {match_sql} AND {OPEN_SQL} AND expires_at > now() RETURNING {COLUMNS}"
    )
    return _one(await tx.execute(statement, {**params, "confirmed_via": confirmed_via}))


async def latest_with_code(
    tx: AsyncSession, merchant_id: uuid.UUID, offer_code: str
) -> ExclusiveSession | None:
    return _one(
        await tx.execute(
            text(
                f"SELECT {COLUMNS} FROM exclusive_sessions "
                "WHERE merchant_id = :merchant_id AND offer_code = :code "
                "ORDER BY created_at DESC LIMIT 1"
            ),
            {"merchant_id": merchant_id, "code": offer_code},
        )
    )


async def insert_billing_event(tx: AsyncSession, session: ExclusiveSession) -> BillingEvent:
    row = (
        (
            await tx.execute(
                text(
                    "INSERT INTO billing_events (id, session_id, merchant_id, amount_minor, "
                    "currency) VALUES (:id, :session_id, :merchant_id, :amount, :currency) "
                    "RETURNING id, session_id, merchant_id, amount_minor, currency, created_at"
                ),
                {
                    "id": uuid.uuid4(),
                    "session_id": session.id,
                    "merchant_id": session.merchant_id,
                    "amount": session.billing_amount_minor,
                    "currency": session.currency,
                },
            )
        )
        .mappings()
        .one()
    )
    return BillingEvent(**row)


async def list_for_user(
    tx: AsyncSession,
    user_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[ExclusiveSession]:
    """The driver's sessions, newest first, keyset-paginated by (created_at, id)."""
    params: dict[str, Any] = {"user_id": user_id, "limit": limit}
    keyset = ""
    if after is not None:
        keyset = " AND (created_at, id) < (:after_at, :after_id)"
        params.update(after_at=after[0], after_id=after[1])
    result = await tx.execute(
        text(
            f"SELECT {COLUMNS} FROM exclusive_sessions WHERE user_id = :user_id{keyset} "
            "ORDER BY created_at DESC, id DESC LIMIT :limit"
        ),
        params,
    )
    return [to_session(row) for row in result.mappings()]


async def list_by_status(
    tx: AsyncSession,
    *,
    statuses: Sequence[SessionStatus],
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[ExclusiveSession]:
    params: dict[str, Any] = {"limit": limit}
    where = ["TRUE"]
    if statuses:
        where.append(
            "status IN (" + ", ".join(f"'{SessionStatus(s).value}'" for s in statuses) + ")"
        )
    if after is not None:
        where.append("(created_at, id) < (:after_at, :after_id)")
        params.update(after_at=after[0], after_id=after[1])
    result = await tx.execute(
        text(
            f"SELECT {COLUMNS} FROM exclusive_sessions WHERE {' AND '.join(where)} "
            "ORDER BY created_at DESC, id DESC LIMIT :limit"
        ),
        params,
    )
    return [to_session(row) for row in result.mappings()]


async def open_at_merchant(tx: AsyncSession, merchant_id: uuid.UUID) -> list[ExclusiveSession]:
    """A merchant's open, unexpired sessions (its arrivals), oldest first."""
    result = await tx.execute(
        text(
            f"SELECT {COLUMNS} FROM exclusive_sessions WHERE merchant_id = :merchant_id "
            f"AND {OPEN_SQL} AND expires_at > now() ORDER BY created_at LIMIT 500"
        ),
        {"merchant_id": merchant_id},
    )
    return [to_session(row) for row in result.mappings()]


async def claim_batch(
    tx: AsyncSession, *, candidates_sql: str, set_sql: str, params: Mapping[str, Any], limit: int
) -> list[ExclusiveSession]:
    """Sweeper step, safe with N replicas: claims up to ``limit`` rows matching
    ``candidates_sql`` (``FOR UPDATE SKIP LOCKED``: a row another replica holds is skipped),
    applies ``set_sql`` and re-checks the predicate on the locked row."""
    statement = text(
        f"UPDATE exclusive_sessions s SET {set_sql}, updated_at = now() "
        f"WHERE s.id IN (SELECT id FROM exclusive_sessions WHERE {candidates_sql} "
        f"ORDER BY expires_at LIMIT :limit FOR UPDATE SKIP LOCKED) AND {candidates_sql} "
        f"RETURNING {S_COLUMNS}"
    )
    result = await tx.execute(statement, {**params, "limit": limit})
    return [to_session(row) for row in result.mappings()]
