"""Opaque refresh tokens: 256 random bits, stored only as an HMAC-SHA256 with a pepper.

``nrt_`` + 43 base64url characters (the prefix lets secret scanners find leaked tokens).

A rotated token's child is ``HMAC(child key, parent token)``: presenting the immediate parent
again within the grace window yields the very same child, so concurrent refreshes from one
device converge on one token, while the database (hashes only) and the pepper together still
cannot produce any live token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

PREFIX = "nrt_"
_FORMAT = re.compile(r"^nrt_[A-Za-z0-9_-]{43}$")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class RefreshTokenCodec:
    def __init__(self, pepper: bytes) -> None:
        self._hash_key = hmac.new(pepper, b"refresh-token-hash", hashlib.sha256).digest()
        self._child_key = hmac.new(pepper, b"refresh-token-child", hashlib.sha256).digest()

    @staticmethod
    def is_well_formed(token: str) -> bool:
        return bool(_FORMAT.match(token))

    @staticmethod
    def new_token() -> str:
        return PREFIX + _b64(secrets.token_bytes(32))

    def digest(self, token: str) -> bytes:
        return hmac.new(self._hash_key, token.encode(), hashlib.sha256).digest()

    def child_of(self, token: str) -> str:
        return PREFIX + _b64(hmac.new(self._child_key, token.encode(), hashlib.sha256).digest())
