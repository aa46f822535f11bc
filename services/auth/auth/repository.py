"""Rows of the auth schema <-> plain values. SQLAlchemy Core only, one statement per question.

The sign-in hot path (:func:`open_session_for_phone`) is a single round trip: it finds an
active user by phone hash and inserts the login session and its first refresh token in one
statement (data-modifying CTEs).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common.direct_sql import compile_statement
from sqlalchemy import and_, bindparam, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from auth.tables import login_sessions, refresh_tokens, users

Executor = AsyncConnection | AsyncSession  # a unit of work's ``tx`` (or a test's connection)


@dataclass(frozen=True)
class UserRow:
    id: int
    public_id: uuid.UUID
    role: str
    status: str


@dataclass(frozen=True)
class UserProfile:
    public_id: uuid.UUID
    role: str
    status: str
    phone_ciphertext: bytes
    phone_key_id: str
    analytics_consent: bool
    marketing_consent: bool
    consent_policy_version: str | None
    consent_updated_at: datetime | None


@dataclass(frozen=True)
class TokenRow:
    id: int
    token_hash: bytes
    session_id: uuid.UUID
    expires_at: datetime
    rotated_at: datetime | None
    session_expires_at: datetime
    session_revoked_at: datetime | None
    session_revoked_reason: str | None
    user_public_id: uuid.UUID
    user_role: str
    user_status: str
    user_phone_ciphertext: bytes
    user_phone_key_id: str


@dataclass(frozen=True)
class ChildRow:
    id: int
    token_hash: bytes
    rotated_at: datetime | None


def _user(row: Any) -> UserRow:
    return UserRow(id=row.id, public_id=row.public_id, role=row.role, status=row.status)


# ---- sign-in hot path
_found = (
    select(users.c.id, users.c.public_id, users.c.role, users.c.status)
    .where(users.c.phone_hash == bindparam("phone_hash"))
    .cte("found")
)
_new_session = (
    insert(login_sessions)
    .from_select(
        ["id", "user_id", "created_at", "last_refreshed_at", "expires_at"],
        select(
            bindparam("session_id", type_=login_sessions.c.id.type),
            _found.c.id,
            bindparam("now", type_=login_sessions.c.created_at.type),
            bindparam("now", type_=login_sessions.c.created_at.type),
            bindparam("session_expires_at", type_=login_sessions.c.expires_at.type),
        ).where(_found.c.status == "active"),
    )
    .returning(login_sessions.c.id)
    .cte("new_session")
)
_new_token = (
    insert(refresh_tokens)
    .from_select(
        ["session_id", "token_hash", "created_at", "expires_at"],
        select(
            _new_session.c.id,
            bindparam("token_hash", type_=refresh_tokens.c.token_hash.type),
            bindparam("now", type_=refresh_tokens.c.created_at.type),
            bindparam("token_expires_at", type_=refresh_tokens.c.expires_at.type),
        ),
    )
    .cte("new_token")
)
_OPEN_SESSION = select(_found.c.id, _found.c.public_id, _found.c.role, _found.c.status).add_cte(
    _new_token
)


@dataclass(frozen=True)
class NewSession:
    phone_hash: bytes
    session_id: uuid.UUID
    token_hash: bytes
    now: datetime
    session_expires_at: datetime
    token_expires_at: datetime

    def params(self) -> dict[str, Any]:
        return dict(self.__dict__)


# :data:`_OPEN_SESSION` compiled once for the direct pool (``deps.uow.direct``: autocommit)
OPEN_SESSION_DIRECT = compile_statement(_OPEN_SESSION)


async def open_session_for_phone(db: Executor, new: NewSession) -> UserRow | None:
    """The user with this phone, and (if active) a new session + first refresh token for it."""
    result = await db.execute(_OPEN_SESSION, new.__dict__)
    row = result.first()
    return _user(row) if row is not None else None


def user_from_record(row: Mapping[str, Any] | None) -> UserRow | None:
    """The answer of :data:`OPEN_SESSION_DIRECT` (an asyncpg record) as a :class:`UserRow`."""
    if row is None:
        return None
    return UserRow(id=row["id"], public_id=row["public_id"], role=row["role"], status=row["status"])


async def insert_user(
    db: Executor,
    *,
    public_id: uuid.UUID,
    role: str,
    phone_hash: bytes,
    phone_ciphertext: bytes,
    phone_key_id: str,
) -> UserRow | None:
    """Inserts a user; None when another request created the same phone first."""
    stmt = (
        pg_insert(users)
        .values(
            public_id=public_id,
            role=role,
            phone_hash=phone_hash,
            phone_ciphertext=phone_ciphertext,
            phone_key_id=phone_key_id,
        )
        .on_conflict_do_nothing(index_elements=[users.c.phone_hash])
        .returning(users.c.id, users.c.public_id, users.c.role, users.c.status)
    )
    row = (await db.execute(stmt)).first()
    return _user(row) if row is not None else None


# Phone lookup-key rotation: every transaction that may move a user onto the current key's
# hash, or insert a user, while previous keys are configured takes this lock first. Replicas
# briefly running with different current keys (a rolling deploy) then cannot both miss a user
# whose hash another one is rewriting, and register the phone twice.
_PHONE_REGISTRATION_LOCK = 0x6E65_7261_7661_7068  # "neravaph"


async def lock_phone_registrations(db: Executor) -> None:
    """Serialises phone adoptions and registrations until the transaction ends."""
    await db.execute(select(func.pg_advisory_xact_lock(_PHONE_REGISTRATION_LOCK)))


async def adopt_phone_hash(
    db: Executor, previous_hashes: Sequence[bytes], phone_hash: bytes
) -> UserRow | None:
    """Rewrites the user found under a previous lookup key's hash to ``phone_hash``.

    The oldest account wins if (against the unique index's intent) several match; the
    repeated condition is re-checked after waiting for a concurrent adoption of the same row.
    """
    if not previous_hashes:
        return None
    oldest = (
        select(func.min(users.c.id)).where(users.c.phone_hash.in_(previous_hashes))
    ).scalar_subquery()
    stmt = (
        update(users)
        .where(users.c.id == oldest, users.c.phone_hash.in_(previous_hashes))
        .values(phone_hash=phone_hash, updated_at=func.now())
        .returning(users.c.id, users.c.public_id, users.c.role, users.c.status)
    )
    row = (await db.execute(stmt)).first()
    return _user(row) if row is not None else None


async def find_user_by_phone(db: Executor, phone_hash: bytes) -> UserRow | None:
    stmt = select(users.c.id, users.c.public_id, users.c.role, users.c.status).where(
        users.c.phone_hash == phone_hash
    )
    row = (await db.execute(stmt)).first()
    return _user(row) if row is not None else None


async def set_role(db: Executor, user_id: int, role: str, now: datetime) -> None:
    await db.execute(update(users).where(users.c.id == user_id).values(role=role, updated_at=now))


async def set_status(db: Executor, public_id: uuid.UUID, status: str, now: datetime) -> bool:
    result = await db.execute(
        update(users)
        .where(users.c.public_id == public_id)
        .values(status=status, updated_at=now)
        .returning(users.c.id)
    )
    return result.first() is not None


async def get_profile(db: Executor, public_id: uuid.UUID) -> UserProfile | None:
    row = (await db.execute(select(users).where(users.c.public_id == public_id))).first()
    if row is None:
        return None
    return UserProfile(
        public_id=row.public_id,
        role=row.role,
        status=row.status,
        phone_ciphertext=row.phone_ciphertext,
        phone_key_id=row.phone_key_id,
        analytics_consent=row.analytics_consent,
        marketing_consent=row.marketing_consent,
        consent_policy_version=row.consent_policy_version,
        consent_updated_at=row.consent_updated_at,
    )


async def lock_profile(db: Executor, public_id: uuid.UUID) -> UserProfile | None:
    """The profile, with its row locked until the transaction ends (consent changes)."""
    row = (
        await db.execute(select(users.c.id).where(users.c.public_id == public_id).with_for_update())
    ).first()
    return await get_profile(db, public_id) if row is not None else None


async def set_consent(
    db: Executor,
    public_id: uuid.UUID,
    *,
    analytics: bool,
    marketing: bool,
    policy_version: str,
    now: datetime,
) -> None:
    await db.execute(
        update(users)
        .where(users.c.public_id == public_id)
        .values(
            analytics_consent=analytics,
            marketing_consent=marketing,
            consent_policy_version=policy_version,
            consent_updated_at=now,
            updated_at=now,
        )
    )


# ---- refresh tokens
async def lock_token(db: Executor, token_hashes: Sequence[bytes]) -> TokenRow | None:
    """The token stored under one of ``token_hashes`` (one per configured pepper), its session
    and user; token and session rows stay locked until commit.

    Every rotation, grace answer and revocation of one session serialises on these locks.
    Both rows are locked: a waiter re-reads locked rows only (READ COMMITTED re-check), so
    locking only the session would leave it with a stale ``rotated_at`` of the token.
    """
    s, t, u = login_sessions, refresh_tokens, users
    stmt = (
        select(
            t.c.id,
            t.c.token_hash,
            t.c.session_id,
            t.c.expires_at,
            t.c.rotated_at,
            s.c.expires_at.label("session_expires_at"),
            s.c.revoked_at,
            s.c.revoked_reason,
            u.c.public_id,
            u.c.role,
            u.c.status,
            u.c.phone_ciphertext,
            u.c.phone_key_id,
        )
        .select_from(t.join(s, s.c.id == t.c.session_id).join(u, u.c.id == s.c.user_id))
        .where(t.c.token_hash.in_(token_hashes))
        .with_for_update(of=[t, s])
    )
    row = (await db.execute(stmt)).first()
    if row is None:
        return None
    return TokenRow(
        id=row.id,
        token_hash=row.token_hash,
        session_id=row.session_id,
        expires_at=row.expires_at,
        rotated_at=row.rotated_at,
        session_expires_at=row.session_expires_at,
        session_revoked_at=row.revoked_at,
        session_revoked_reason=row.revoked_reason,
        user_public_id=row.public_id,
        user_role=row.role,
        user_status=row.status,
        user_phone_ciphertext=row.phone_ciphertext,
        user_phone_key_id=row.phone_key_id,
    )


async def set_token_hash(db: Executor, token_id: int, token_hash: bytes) -> None:
    """Moves a (locked) token found under a previous pepper onto the current one."""
    await db.execute(
        update(refresh_tokens).where(refresh_tokens.c.id == token_id).values(token_hash=token_hash)
    )


async def child_of(db: Executor, token_id: int) -> ChildRow | None:
    t = refresh_tokens
    stmt = select(t.c.id, t.c.token_hash, t.c.rotated_at).where(t.c.parent_id == token_id)
    row = (await db.execute(stmt)).first()
    if row is None:
        return None
    return ChildRow(id=row.id, token_hash=row.token_hash, rotated_at=row.rotated_at)


async def rotate(
    db: Executor,
    *,
    token: TokenRow,
    child_hash: bytes,
    now: datetime,
    child_expires_at: datetime,
) -> None:
    await db.execute(
        update(refresh_tokens)
        .where(and_(refresh_tokens.c.id == token.id, refresh_tokens.c.rotated_at.is_(None)))
        .values(rotated_at=now)
    )
    await db.execute(
        insert(refresh_tokens).values(
            session_id=token.session_id,
            token_hash=child_hash,
            parent_id=token.id,
            created_at=now,
            expires_at=child_expires_at,
        )
    )
    await db.execute(
        update(login_sessions)
        .where(login_sessions.c.id == token.session_id)
        .values(last_refreshed_at=now)
    )


# ---- sessions
async def active_session_ids(db: Executor, user_public_id: uuid.UUID) -> list[uuid.UUID]:
    s, u = login_sessions, users
    stmt = (
        select(s.c.id)
        .select_from(s.join(u, u.c.id == s.c.user_id))
        .where(and_(u.c.public_id == user_public_id, s.c.revoked_at.is_(None)))
    )
    return [row.id for row in await db.execute(stmt)]


async def revoke_sessions(
    db: Executor, session_ids: list[uuid.UUID], *, reason: str, now: datetime
) -> int:
    if not session_ids:
        return 0
    result = await db.execute(
        update(login_sessions)
        .where(and_(login_sessions.c.id.in_(session_ids), login_sessions.c.revoked_at.is_(None)))
        .values(revoked_at=now, revoked_reason=literal(reason))
        .returning(login_sessions.c.id)
    )
    return len(result.all())
