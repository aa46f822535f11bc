"""Phone numbers at rest, one scheme for every service that keeps them: AES-256-GCM with a key
id per row, and an HMAC lookup hash.

The ciphertext layout is ``nonce (12 bytes) || ciphertext+tag``; the key id is stored beside it
so keys rotate: new rows use the active key, older rows still decrypt with their own. The lookup
hash is ``HMAC-SHA256(lookup key, E.164)``, so an equality lookup needs no decryption and a
database leak alone reveals no number. Each service has its own keys and its own associated
data (``aad``): a ciphertext copied from one service's table does not open in another's. While
a lookup key rotates, the previous keys' hashes can still be computed to find older rows.
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


class PhoneKeyError(ValueError):
    """The phone encryption keys are missing or unusable, or a ciphertext does not open."""


@dataclass(frozen=True)
class SealedPhone:
    key_id: str
    ciphertext: bytes
    lookup_hash: bytes


def load_phone_keys(raw: Mapping[str, str], active_id: str) -> dict[str, bytes]:
    """``{key id: base64url 32-byte key}`` checked and decoded; the active id must be one."""
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


class PhoneEncryption:
    def __init__(
        self,
        keys: Mapping[str, bytes],
        active_id: str,
        lookup_key: bytes,
        *,
        aad: bytes,
        previous_lookup_keys: Sequence[bytes] = (),
    ) -> None:
        self._aeads = {kid: AESGCM(key) for kid, key in keys.items()}
        self.active_id = active_id
        self._aad = aad
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

    def ciphertext_of(self, e164: str) -> bytes:
        """The ciphertext of ``e164`` under the active key (:attr:`active_id`)."""
        nonce = os.urandom(12)
        return nonce + self._aeads[self.active_id].encrypt(nonce, e164.encode(), self._aad)

    def seal(self, e164: str) -> SealedPhone:
        return SealedPhone(self.active_id, self.ciphertext_of(e164), self.lookup_hash(e164))

    def open(self, key_id: str, ciphertext: bytes) -> str:
        aead = self._aeads.get(key_id)
        if aead is None:
            raise PhoneKeyError(f"no key {key_id!r} to decrypt this phone number")
        try:
            return aead.decrypt(ciphertext[:12], ciphertext[12:], self._aad).decode()
        except InvalidTag:
            raise PhoneKeyError("the phone ciphertext does not verify") from None

    def key_ids(self) -> list[str]:
        return sorted(self._aeads)
