"""Phone numbers at rest: AES-256-GCM with a key id per row, and an HMAC lookup hash.

Ciphertext layout ``nonce (12 bytes) || ciphertext+tag``; the key id is stored beside it, so
keys rotate (new rows use the active key, old rows decrypt with theirs). The lookup hash is
``HMAC-SHA256(lookup key, E.164)``: an equality lookup (opt-outs, reply matching) needs no
decryption, and a database leak alone reveals no number. Same scheme as auth's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_AAD = b"nerava.notifications.phone.v1"


class PhoneKeyError(ValueError):
    """The phone encryption keys are missing or unusable."""


@dataclass(frozen=True)
class SealedPhone:
    key_id: str
    ciphertext: bytes
    lookup_hash: bytes


def load_phone_keys(raw: Mapping[str, str], active_id: str) -> dict[str, bytes]:
    if not isinstance(raw, Mapping) or not raw:
        raise PhoneKeyError("a JSON object of key id -> base64url 32-byte key is required")
    keys: dict[str, bytes] = {}
    for key_id, encoded in raw.items():
        try:
            key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (binascii.Error, TypeError):
            raise PhoneKeyError(f"key {key_id!r} is not base64url") from None
        if len(key) != 32 or len(set(key)) < 16:
            raise PhoneKeyError(f"key {key_id!r} must be 32 random bytes (AES-256)")
        keys[key_id] = key
    if active_id not in keys:
        raise PhoneKeyError(f"the active key id {active_id!r} is not among the keys")
    return keys


def generate_key_material() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


class PhoneVault:
    def __init__(self, keys: Mapping[str, bytes], active_id: str, lookup_key: bytes) -> None:
        self._aeads = {kid: AESGCM(key) for kid, key in keys.items()}
        self.active_id = active_id
        self._lookup_key = lookup_key

    def lookup_hash(self, e164: str) -> bytes:
        return hmac.new(self._lookup_key, e164.encode(), hashlib.sha256).digest()

    def seal(self, e164: str) -> SealedPhone:
        nonce = os.urandom(12)
        sealed = self._aeads[self.active_id].encrypt(nonce, e164.encode(), _AAD)
        return SealedPhone(self.active_id, nonce + sealed, self.lookup_hash(e164))

    def open(self, key_id: str, ciphertext: bytes) -> str:
        aead = self._aeads.get(key_id)
        if aead is None:
            raise PhoneKeyError(f"no key {key_id!r} to decrypt this phone number")
        try:
            return aead.decrypt(ciphertext[:12], ciphertext[12:], _AAD).decode()
        except InvalidTag:
            raise PhoneKeyError("the phone ciphertext does not verify") from None


def mask(e164: str) -> str:
    """``+1•••••0123``: the country code and the last four digits, for ops screens."""
    if len(e164) < 7:
        return "•" * len(e164)
    return e164[:2] + "•" * (len(e164) - 6) + e164[-4:]
