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

Every authenticated request reads the denylist, so a service gives :class:`RevokedSessions` a
:class:`~common.redis_pipelined.PipelinedRedis` for it (``lookups``): the ``EXISTS`` of all
requests in one event-loop turn go out in one write on one connection, at a fraction of
redis-py's CPU per command. Nothing is cached: every request reads the denylist as it is now.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from common.errors import Unavailable
from common.redis_client import KeySpace
from common.redis_pipelined import PipelinedRedis

logger = logging.getLogger(__name__)

NAMESPACE = ("shared", "revoked-sid")


class RevocationUnavailableError(Unavailable):
    code = "revocation_check_unavailable"
    title = "Session check unavailable"


class RevokedSessions:
    def __init__(
        self, client: Redis, keys: KeySpace, *, lookups: PipelinedRedis | None = None
    ) -> None:
        """``lookups``: the connection :meth:`is_revoked` reads on (default ``client``)."""
        self._client = client
        self._keys = keys
        self._lookups = lookups

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
            if self._lookups is not None:
                return bool(await self._lookups.execute("EXISTS", self.key(session_id)))
            return bool(await self._client.exists(self.key(session_id)))
        except (RedisError, OSError) as exc:
            logger.warning("session revocation check failed", extra={"error": type(exc).__name__})
            raise RevocationUnavailableError(
                "Sessions cannot be checked right now.", retry_after=2
            ) from None
