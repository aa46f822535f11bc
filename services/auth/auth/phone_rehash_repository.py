"""Rows of the phone lookup-key backfill (``auth.phone_rehash``): users in id order, who holds
a hash, and the guarded rewrite of a user's hash. SQLAlchemy Core, statements built once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select, update

from auth.repository import Executor
from auth.tables import users


@dataclass(frozen=True)
class StoredPhone:
    id: int
    public_id: uuid.UUID
    phone_hash: bytes
    phone_ciphertext: bytes
    phone_key_id: str


_PHONES_AFTER = (
    select(
        users.c.id,
        users.c.public_id,
        users.c.phone_hash,
        users.c.phone_ciphertext,
        users.c.phone_key_id,
    )
    .where(users.c.id > bindparam("after"))
    .order_by(users.c.id)
    .limit(bindparam("limit"))
)
_HOLDERS = select(users.c.phone_hash, users.c.public_id).where(
    users.c.phone_hash.in_(bindparam("hashes", expanding=True))
)
_REHASH = (
    update(users)
    .where(users.c.id == bindparam("row_id"), users.c.phone_hash == bindparam("old_hash"))
    .values(phone_hash=bindparam("new_hash"))
)


async def phones_after(db: Executor, after: int, limit: int) -> list[StoredPhone]:
    rows = await db.execute(_PHONES_AFTER, {"after": after, "limit": limit})
    return [
        StoredPhone(r.id, r.public_id, bytes(r.phone_hash), r.phone_ciphertext, r.phone_key_id)
        for r in rows
    ]


async def phone_hash_holders(db: Executor, hashes: Sequence[bytes]) -> dict[bytes, uuid.UUID]:
    """Which user holds each of ``hashes`` (absent: nobody)."""
    rows = await db.execute(_HOLDERS, {"hashes": list(hashes)})
    return {bytes(r.phone_hash): r.public_id for r in rows}


async def rehash(db: Executor, moves: Sequence[tuple[int, bytes, bytes]]) -> None:
    """Rewrites each ``(row id, old hash, new hash)``; a row whose hash moved meanwhile stays."""
    params = [{"row_id": i, "old_hash": old, "new_hash": new} for i, old, new in moves]
    await db.execute(_REHASH, params)
