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

from auth import phone_rehash_repository as rehash_repo
from auth import repository as repo
from auth.deps import Deps
from auth.phone_crypto import EncryptedPhone, PhoneKeyError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RehashReport:
    scanned: int
    rehashed: int
    conflicts: int
    unreadable: int


async def rehash_phones(deps: Deps, *, batch_size: int = 500) -> RehashReport:
    phones = deps.phones
    scanned = rehashed = conflicts = unreadable = 0
    after = 0
    while True:
        async with deps.uow() as tx:
            await repo.lock_phone_registrations(tx)
            rows = await rehash_repo.phones_after(tx, after, batch_size)
            if not rows:
                break
            after = rows[-1].id
            scanned += len(rows)
            moves: list[tuple[rehash_repo.StoredPhone, bytes]] = []
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
            holders = await rehash_repo.phone_hash_holders(tx, [new for _, new in moves])
            done: list[tuple[int, bytes, bytes]] = []
            for row, new in moves:
                if new in holders:
                    conflicts += 1
                    logger.error(
                        "phone rehash conflict: another account holds this phone's hash",
                        extra={"user_id": str(row.public_id), "holder": str(holders[new])},
                    )
                    continue
                holders[new] = row.public_id
                done.append((row.id, row.phone_hash, new))
            if done:
                await rehash_repo.rehash(tx, done)
                rehashed += len(done)
    report = RehashReport(
        scanned=scanned, rehashed=rehashed, conflicts=conflicts, unreadable=unreadable
    )
    logger.info("phone rehash done", extra=dataclasses.asdict(report))
    return report
