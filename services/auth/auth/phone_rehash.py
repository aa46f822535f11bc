"""Operator backfill for a phone lookup-key rotation: every user's hash under the current key.

Sign-in moves a user found under a previous key's hash onto the current key, but a user who
does not sign in during the rotation would be lost once the previous key is dropped. This
recomputes each user's ``phone_hash`` from the encrypted phone (it needs the encryption keys
only), in batches by id; each batch is one transaction holding the phone-registration lock, so
no sign-in can insert a second account for a phone while its row moves.

A row whose current-key hash another account already holds (possible only if the key was once
changed without listing the old one as previous) is left alone and counted as a conflict; the
log names both user ids for an operator to resolve. A row none of the configured
``PHONE_ENCRYPTION_KEYS`` decrypts is left alone and counted as unreadable.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from common.database import Database
from sqlalchemy import bindparam, select, update

from auth import repository as repo
from auth.phone_crypto import EncryptedPhone, PhoneCipher, PhoneKeyError
from auth.tables import users

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RehashReport:
    scanned: int
    rehashed: int
    conflicts: int
    unreadable: int


_BATCH = (
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


async def rehash_phones(
    database: Database, phones: PhoneCipher, *, batch_size: int = 500
) -> RehashReport:
    scanned = rehashed = conflicts = unreadable = 0
    after = 0
    while True:
        async with database.engine.begin() as conn:
            await repo.lock_phone_registrations(conn)
            rows = (await conn.execute(_BATCH, {"after": after, "limit": batch_size})).all()
            if not rows:
                break
            after = rows[-1].id
            scanned += len(rows)
            moves = []
            for row in rows:
                try:
                    phone = phones.decrypt(EncryptedPhone(row.phone_key_id, row.phone_ciphertext))
                except PhoneKeyError as exc:
                    unreadable += 1
                    logger.error(
                        "phone rehash: phone not readable",
                        extra={"user_id": str(row.public_id), "error": str(exc)},
                    )
                    continue
                current = phones.lookup_hash(phone)
                if current != row.phone_hash:
                    moves.append((row, current))
            if not moves:
                continue
            held = await conn.execute(_HOLDERS, {"hashes": [new for _, new in moves]})
            holders = {bytes(h.phone_hash): h.public_id for h in held}
            params = []
            for row, new in moves:
                if new in holders:
                    conflicts += 1
                    logger.error(
                        "phone rehash conflict: another account holds this phone's hash",
                        extra={"user_id": str(row.public_id), "holder": str(holders[new])},
                    )
                    continue
                holders[new] = row.public_id
                params.append({"row_id": row.id, "old_hash": row.phone_hash, "new_hash": new})
            if params:
                await conn.execute(_REHASH, params)
                rehashed += len(params)
    report = RehashReport(
        scanned=scanned, rehashed=rehashed, conflicts=conflicts, unreadable=unreadable
    )
    logger.info("phone rehash done", extra=dataclasses.asdict(report))
    return report
