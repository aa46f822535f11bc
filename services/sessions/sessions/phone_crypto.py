"""Merchants' notification phones at rest: the shared scheme (``common.phone_encryption``) with
sessions' own keys and associated data."""

from __future__ import annotations

from collections.abc import Mapping

from common.phone_encryption import (
    PhoneEncryption,
    PhoneKeyError,
    generate_key_material,
    load_phone_keys,
)
from common.phone_encryption import SealedPhone as EncryptedPhone

__all__ = [
    "EncryptedPhone",
    "PhoneCipher",
    "PhoneKeyError",
    "generate_key_material",
    "load_phone_keys",
]

_AAD = b"nerava.sessions.merchant_phone.v1"


class PhoneCipher(PhoneEncryption):
    def __init__(self, keys: Mapping[str, bytes], active_id: str, lookup_key: bytes) -> None:
        super().__init__(keys, active_id, lookup_key, aad=_AAD)

    def encrypt(self, e164: str) -> EncryptedPhone:
        return self.seal(e164)

    def decrypt(self, key_id: str, ciphertext: bytes) -> str:
        return self.open(key_id, ciphertext)
