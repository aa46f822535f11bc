"""Opaque refresh tokens: 256 random bits, stored only as an HMAC-SHA256 with a pepper.

``nrt_`` + 43 base64url characters (the prefix lets secret scanners find leaked tokens).

A rotated token's child is ``HMAC(child key, parent token)``: presenting the immediate parent
again within the grace window yields the very same child, so concurrent refreshes from one
device converge on one token, while the database (hashes only) and the pepper together still
cannot produce any live token.

Pepper rotation: the codec also holds the previous peppers (``REFRESH_TOKEN_PEPPERS_PREVIOUS``).
A token is looked up under every pepper (:meth:`digests`, current first); children are always
derived and stored under the current one, so each refresh moves a session onto it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

PREFIX = "nrt_"
_FORMAT = re.compile(r"^nrt_[A-Za-z0-9_-]{43}$")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _mac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


@dataclass(frozen=True)
class _PepperKeys:
    hash_key: bytes
    child_key: bytes

    @classmethod
    def of(cls, pepper: bytes) -> _PepperKeys:
        return cls(_mac(pepper, b"refresh-token-hash"), _mac(pepper, b"refresh-token-child"))

    def digest(self, token: str) -> bytes:
        return _mac(self.hash_key, token.encode())

    def child_of(self, token: str) -> str:
        return PREFIX + _b64(_mac(self.child_key, token.encode()))


class RefreshTokenCodec:
    def __init__(self, pepper: bytes, previous: Sequence[bytes] = ()) -> None:
        self._current = _PepperKeys.of(pepper)
        self._all = (self._current, *(_PepperKeys.of(p) for p in previous))

    @staticmethod
    def is_well_formed(token: str) -> bool:
        return bool(_FORMAT.match(token))

    @staticmethod
    def new_token() -> str:
        return PREFIX + _b64(secrets.token_bytes(32))

    def digest(self, token: str) -> bytes:
        """The stored hash of ``token`` under the current pepper."""
        return self._current.digest(token)

    def digests(self, token: str) -> list[bytes]:
        """The hashes to look ``token`` up by: the current pepper's first, then previous ones."""
        return [keys.digest(token) for keys in self._all]

    def child_of(self, token: str) -> str:
        """The child a rotation issues now (current pepper)."""
        return self._current.child_of(token)

    def issued_child(self, parent: str, child_hash: bytes) -> str | None:
        """The child that was issued for ``parent`` and stored as ``child_hash``, under whichever
        pepper was current at that rotation; None when no configured pepper produced it."""
        for keys in self._all:
            child = keys.child_of(parent)
            if any(hmac.compare_digest(k.digest(child), child_hash) for k in self._all):
                return child
        return None
