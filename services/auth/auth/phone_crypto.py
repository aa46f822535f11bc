"""Users' phone numbers at rest: the shared scheme (``common.phone_encryption``) with auth's
own keys and associated data.

The lookup key rotates too: hashes made with a previous key (``PHONE_LOOKUP_KEYS_PREVIOUS``)
are still looked for when the current key finds no user, and the row found is rewritten under
the current key (``repository.adopt_phone_hash``; ``phone_rehash`` moves every row at once).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from common.phone_encryption import (
    PhoneEncryption,
    PhoneKeyError,
    generate_key_material,
    load_phone_keys,
)

__all__ = [
    "EncryptedPhone",
    "PhoneCipher",
    "PhoneKeyError",
    "generate_key_material",
    "load_phone_keys",
]

_AAD = b"nerava.auth.phone.v1"


@dataclass(frozen=True)
class EncryptedPhone:
    key_id: str
    ciphertext: bytes


class PhoneCipher(PhoneEncryption):
    def __init__(
        self,
        keys: Mapping[str, bytes],
        active_id: str,
        lookup_key: bytes,
        previous_lookup_keys: Sequence[bytes] = (),
    ) -> None:
        super().__init__(
            keys, active_id, lookup_key, aad=_AAD, previous_lookup_keys=previous_lookup_keys
        )

    def encrypt(self, e164: str) -> EncryptedPhone:
        return EncryptedPhone(key_id=self.active_id, ciphertext=self.ciphertext_of(e164))

    def decrypt(self, encrypted: EncryptedPhone) -> str:
        return self.open(encrypted.key_id, encrypted.ciphertext)
