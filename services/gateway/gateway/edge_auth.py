"""Access-token checks at the edge in microseconds: verified claims cached briefly, by token hash.

A token is verified once (signature, ``iss``/``aud``/``typ``/``exp``, claims) by
``common.jwt_verification.JwtVerifier`` against auth's JWKS; its claims are then reused for
``TOKEN_CACHE_SECONDS`` and never past the token's own ``exp``. Refused tokens are remembered
the same way, so a flood of one bad token costs one signature check.

Whether the token's session was revoked (logout) is read from the shared Redis denylist
(``common.session_revocation``) at most once per ``REVOCATION_CACHE_SECONDS`` per session, over
the gateway's pipelined Redis connection; if Redis cannot answer, the request is refused with
503 (never let through on a denylist nobody could read).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass

from common.errors import AppError
from common.jwt_verification import (
    JwtVerifier,
    SessionRevokedError,
    TokenExpiredError,
    TokenInvalidError,
    TokenMissingError,
    VerifiedToken,
)
from common.redis_client import KeySpace
from common.redis_pipelined import PipelinedRedis
from common.session_revocation import NAMESPACE, RevocationUnavailableError
from redis.exceptions import RedisError

_BEARER = b"bearer "
_NEGATIVE_TTL_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class _Refusal:
    """A remembered refusal (a fresh exception is raised from it each time)."""

    error_type: type[AppError]
    detail: str


class RevocationCache:
    def __init__(
        self, redis: PipelinedRedis, keys: KeySpace, *, cache_seconds: float, size: int
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = cache_seconds
        self._size = max(1, size)
        self._entries: OrderedDict[str, tuple[bool, float]] = OrderedDict()

    async def ensure_active(self, session_id: str) -> None:
        now = time.monotonic()
        entry = self._entries.get(session_id)
        if entry is not None and now - entry[1] < self._ttl:
            revoked = entry[0]
        else:
            try:
                found = await self._redis.execute("EXISTS", self._keys.key(*NAMESPACE, session_id))
            except (RedisError, OSError) as exc:
                raise RevocationUnavailableError(
                    "Sessions cannot be checked right now.", retry_after=2
                ) from exc
            revoked = bool(found)
            entries = self._entries
            entries[session_id] = (revoked, now)
            entries.move_to_end(session_id)
            if len(entries) > self._size:
                entries.popitem(last=False)
        if revoked:
            raise SessionRevokedError("This session has been signed out.")


class EdgeAuthenticator:
    def __init__(
        self,
        verifier: JwtVerifier,
        revocations: RevocationCache | None,
        *,
        cache_seconds: float,
        cache_size: int,
    ) -> None:
        self._verifier = verifier
        self._revocations = revocations
        self._ttl = cache_seconds
        self._size = max(1, cache_size)
        self._cache: OrderedDict[bytes, tuple[VerifiedToken | _Refusal, float]] = OrderedDict()

    async def authenticate(self, authorization: bytes | None) -> VerifiedToken:
        if not authorization:
            raise TokenMissingError("A bearer access token is required.")
        if authorization[:7].lower() != _BEARER:
            raise TokenInvalidError("The Authorization header must be 'Bearer <token>'.")
        token = authorization[7:].strip()
        if not token:
            raise TokenInvalidError("The Authorization header must be 'Bearer <token>'.")
        key = hashlib.sha256(token).digest()
        now = time.time()
        cache = self._cache
        entry = cache.get(key)
        if entry is not None and entry[1] > now:
            outcome = entry[0]
        else:
            outcome = await self._verify(token, now)
            if self._ttl > 0:
                cache[key] = (outcome, self._valid_until(outcome, now))
                cache.move_to_end(key)
                if len(cache) > self._size:
                    cache.popitem(last=False)
        if isinstance(outcome, _Refusal):
            raise outcome.error_type(outcome.detail)
        if self._revocations is not None:
            await self._revocations.ensure_active(outcome.session_id)
        return outcome

    async def _verify(self, token: bytes, now: float) -> VerifiedToken | _Refusal:
        try:
            text = token.decode("ascii")
        except UnicodeDecodeError:
            return _Refusal(TokenInvalidError, "The token is malformed.")
        try:
            return await self._verifier.verify(text)
        except (TokenInvalidError, TokenExpiredError) as refused:
            return _Refusal(type(refused), refused.detail)

    def _valid_until(self, outcome: VerifiedToken | _Refusal, now: float) -> float:
        if isinstance(outcome, _Refusal):
            return now + min(self._ttl, _NEGATIVE_TTL_SECONDS)
        return min(now + self._ttl, outcome.expires_at.timestamp())
