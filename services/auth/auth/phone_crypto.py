"""Phone numbers at rest: AES-256-GCM with a key id per row, and an HMAC lookup hash.

The ciphertext layout is ``nonce (12 bytes) || ciphertext+tag``; the key id is stored beside it
so keys can rotate: new rows use the active key, old rows still decrypt with their own key, and
a re-encryption job can move them over. The lookup hash is ``HMAC-SHA256(lookup key, E.164)``,
so an equality lookup needs no decryption and a database leak alone reveals no number.

The lookup key rotates too: hashes made with a previous key (``PHONE_LOOKUP_KEYS_PREVIOUS``)
are still looked for when the current key finds no user, and the row found is rewritten under
the current key (``repository.adopt_phone_hash``; ``phone_rehash`` moves every row at once).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_AAD = b"nerava.auth.phone.v1"


class PhoneKeyError(ValueError):
    """The phone encryption keys are missing or unusable."""


@dataclass(frozen=True)
class EncryptedPhone:
    key_id: str
    ciphertext: bytes


def load_phone_keys(raw: Mapping[str, str], active_id: str) -> dict[str, bytes]:
    if not isinstance(raw, Mapping) or not raw:
        raise PhoneKeyError("a JSON object of key id -> base64url 32-byte key is required")
    keys: dict[str, bytes] = {}
    for key_id, encoded in raw.items():
        try:
            key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (binascii.Error, TypeError):
            raise PhoneKeyError(f"key {key_id!r} is not base64url") from None
        if len(key) != 32:
            raise PhoneKeyError(f"key {key_id!r} must be 32 bytes (AES-256)")
        if len(set(key)) < 16:
            raise PhoneKeyError(f"key {key_id!r} is not random")
        keys[key_id] = key
    if active_id not in keys:
        raise PhoneKeyError(f"the active key id {active_id!r} is not among the keys")
    return keys


def generate_key_material() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


class PhoneCipher:
    def __init__(
        self,
        keys: Mapping[str, bytes],
        active_id: str,
        lookup_key: bytes,
        previous_lookup_keys: Sequence[bytes] = (),
    ) -> None:
        self._aeads = {kid: AESGCM(key) for kid, key in keys.items()}
        self.active_id = active_id
        self._lookup_key = lookup_key
        self._previous_lookup_keys = tuple(previous_lookup_keys)

    @property
    def lookup_key_rotating(self) -> bool:
        """True while previous lookup keys are configured (a rotation is under way)."""
        return bool(self._previous_lookup_keys)

    def lookup_hash(self, e164: str) -> bytes:
        return hmac.new(self._lookup_key, e164.encode(), hashlib.sha256).digest()

    def previous_lookup_hashes(self, e164: str) -> list[bytes]:
        """The hashes of ``e164`` under the previous lookup keys, most recent key first."""
        return [
            hmac.new(key, e164.encode(), hashlib.sha256).digest()
            for key in self._previous_lookup_keys
        ]

    def encrypt(self, e164: str) -> EncryptedPhone:
        nonce = os.urandom(12)
        sealed = self._aeads[self.active_id].encrypt(nonce, e164.encode(), _AAD)
        return EncryptedPhone(key_id=self.active_id, ciphertext=nonce + sealed)

    def decrypt(self, encrypted: EncryptedPhone) -> str:
        aead = self._aeads.get(encrypted.key_id)
        if aead is None:
            raise PhoneKeyError(f"no key {encrypted.key_id!r} to decrypt this phone number")
        try:
            data = aead.decrypt(encrypted.ciphertext[:12], encrypted.ciphertext[12:], _AAD)
        except InvalidTag:
            raise PhoneKeyError("the phone ciphertext does not verify") from None
        return data.decode()

    def key_ids(self) -> list[str]:
        return sorted(self._aeads)
