"""The shared denylist of revoked session ids (``sid`` claim of access tokens).

This is shared infrastructure, not a service's private state: the auth service writes it on
logout, refresh-token reuse and admin revocation; every verifier reads it, so a logout stops
the session's access tokens everywhere within seconds instead of at ``exp``.

Key namespace (documented contract; all services use the same ``REDIS_KEY_PREFIX``):

    <prefix>:shared:revoked-sid:<sid>   value "1", TTL = access-token lifetime + leeway

An entry only has to outlive the access tokens of that session: after that no token naming
the ``sid`` can pass the ``exp`` check anyway.

When Redis cannot answer, :meth:`RevokedSessions.is_revoked` raises 503
``revocation_check_unavailable``: a request is never let through on a denylist nobody could read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from common.errors import Unavailable
from common.redis_client import KeySpace

logger = logging.getLogger(__name__)

NAMESPACE = ("shared", "revoked-sid")


class RevocationUnavailableError(Unavailable):
    code = "revocation_check_unavailable"
    title = "Session check unavailable"


class RevokedSessions:
    def __init__(self, client: Redis, keys: KeySpace) -> None:
        self._client = client
        self._keys = keys

    def key(self, session_id: str) -> str:
        return self._keys.key(*NAMESPACE, session_id)

    async def revoke(self, session_ids: Iterable[str], *, ttl_seconds: int) -> None:
        ids = list(session_ids)
        if not ids:
            return
        ttl = max(1, int(ttl_seconds))
        async with self._client.pipeline(transaction=False) as pipe:
            for sid in ids:
                pipe.set(self.key(sid), b"1", ex=ttl)
            await pipe.execute()

    async def is_revoked(self, session_id: str) -> bool:
        try:
            return bool(await self._client.exists(self.key(session_id)))
        except (RedisError, OSError) as exc:
            logger.warning("session revocation check failed", extra={"error": type(exc).__name__})
            raise RevocationUnavailableError(
                "Sessions cannot be checked right now.", retry_after=2
            ) from None
