"""redis.asyncio client factory and key naming under the configured prefix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from common.settings import RedisSettings


def make_redis(settings: RedisSettings) -> Redis:
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        health_check_interval=30,
        decode_responses=False,
    )


class KeySpace:
    """Builds Redis keys as ``<prefix>:<part>:<part>``; all keys go through one."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.rstrip(":")

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))


def redis_check(client: Redis) -> Any:
    async def check() -> dict[str, Any] | None:
        await client.ping()
        return None

    return check


@dataclass(frozen=True)
class Cache:
    """A service's Redis client and the key space under its prefix."""

    client: Redis
    keys: KeySpace
