"""Trusted public keys for JWT verification: a static JWKS, or the auth service's JWKS endpoint.

:class:`HttpJwks` fetches ``GET <jwks_url>`` with aiohttp, caches the keys by ``kid`` for
``cache_seconds`` and, when a token names a ``kid`` it does not know (a key rotation), refetches
at most once per ``min_refetch_seconds``: a flood of tokens with made-up ``kid`` values cannot
turn into a flood of requests to auth. Only ``EdDSA`` (Ed25519) and ``ES256`` (P-256) public keys
are accepted; private or symmetric members make a key unusable.

If the JWKS cannot be fetched and no key was ever loaded, verification is impossible and the
request gets 503 ``jwks_unavailable`` (an outage is not an authentication failure).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import jwt

from common.errors import Unavailable

logger = logging.getLogger(__name__)

_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k"})
_ALLOWED: dict[tuple[object, object], str] = {("OKP", "Ed25519"): "EdDSA", ("EC", "P-256"): "ES256"}


class JwksUnavailableError(Unavailable):
    code = "jwks_unavailable"
    title = "Token keys unavailable"


def parse_jwks(document: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    """The usable public keys of a JWKS document by ``kid``; unusable entries are skipped."""
    keys: dict[str, jwt.PyJWK] = {}
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise ValueError("a JWKS document needs a 'keys' list")
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        kid = entry.get("kid")
        algorithm = _ALLOWED.get((entry.get("kty"), entry.get("crv")))
        if not isinstance(kid, str) or algorithm is None:
            logger.warning("jwks key skipped: unsupported type or no kid", extra={"kid": kid})
            continue
        if _PRIVATE_MEMBERS.intersection(entry):
            logger.warning("jwks key skipped: carries private material", extra={"kid": kid})
            continue
        if entry.get("alg", algorithm) != algorithm or entry.get("use", "sig") != "sig":
            logger.warning("jwks key skipped: alg/use mismatch", extra={"kid": kid})
            continue
        try:
            keys[kid] = jwt.PyJWK(entry, algorithm=algorithm)
        except jwt.PyJWKError:
            logger.warning("jwks key skipped: unreadable", extra={"kid": kid})
    return keys


class StaticJwks:
    """Keys from a JWKS document given up front (tests, or a pinned configuration)."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self._keys = parse_jwks(document)

    async def key_for(self, kid: str) -> jwt.PyJWK | None:
        return self._keys.get(kid)

    def kids(self) -> list[str]:
        return sorted(self._keys)


class HttpJwks:
    """Keys from the auth service's JWKS endpoint, cached; refetched on an unknown ``kid``."""

    def __init__(
        self,
        url: str,
        session: aiohttp.ClientSession,
        *,
        cache_seconds: float = 600.0,
        min_refetch_seconds: float = 30.0,
        timeout_seconds: float = 3.0,
        clock: Any = time.monotonic,
    ) -> None:
        self.url = url
        self._session = session
        self._cache_seconds = cache_seconds
        self._min_refetch_seconds = min_refetch_seconds
        self._timeout_seconds = timeout_seconds
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._loaded_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetch_count = 0

    async def key_for(self, kid: str) -> jwt.PyJWK | None:
        now = self._clock()
        if kid in self._keys and not self._stale(now):
            return self._keys[kid]
        if self._may_refetch(now):
            await self._refresh()
        if self._loaded_at is None:
            raise JwksUnavailableError("The token signing keys cannot be loaded right now.")
        return self._keys.get(kid)

    def _stale(self, now: float) -> bool:
        return self._loaded_at is None or now - self._loaded_at >= self._cache_seconds

    def _may_refetch(self, now: float) -> bool:
        if self._attempted_at is None:
            return True
        # Until a first JWKS is loaded (auth still starting), retry every second.
        pause = self._min_refetch_seconds if self._loaded_at is not None else 1.0
        return now - self._attempted_at >= pause

    async def _refresh(self) -> None:
        async with self._lock:
            # Another request may have refreshed while this one waited for the lock.
            if not self._may_refetch(self._clock()):
                return
            self._attempted_at = self._clock()
            try:
                document = await self._fetch()
                keys = parse_jwks(document)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                logger.warning(
                    "jwks fetch failed",
                    extra={"url": self.url, "error": type(exc).__name__},
                )
                return
            self._keys = keys
            self._loaded_at = self._attempted_at

    async def _fetch(self) -> Mapping[str, Any]:
        self.fetch_count += 1
        async with asyncio.timeout(self._timeout_seconds):
            async with self._session.get(self.url) as resp:
                if resp.status != 200:
                    raise ValueError(f"JWKS endpoint answered {resp.status}")
                document = await resp.json(content_type=None)
        if not isinstance(document, dict):
            raise ValueError("JWKS document is not an object")
        return document
