"""Rate limits in Redis: GCRA in one atomic Lua script, one round trip for several limits.

GCRA (generic cell rate algorithm) keeps one value per key, the *theoretical arrival time*
(TAT). A limit of ``limit`` requests per ``period`` with a ``burst`` lets ``burst`` requests
through at once and then one every ``period / limit``. The script reads Redis' own clock
(``TIME``), so every replica agrees on it, and stores the TAT with an expiry equal to the time
the key needs to drain; nothing lives in process memory, so limits survive restarts.

Several limits (per client IP *and* per user, say) are checked together: when any of them
refuses, none is consumed, and the answer names the one that refused.

When Redis cannot be reached the caller chooses: ``fail_open=True`` lets the request through
(logged and counted by :attr:`RateLimiter.degraded`), ``fail_open=False`` raises
:class:`RateLimiterUnavailable` (503). Keys live under the configured prefix
(``<prefix>:rl:<name>:<key>``); in Redis Cluster all keys of one call must share a hash slot,
so callers that check several keys there wrap a common part in ``{...}``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from common.errors import Unavailable
from common.redis_client import KeySpace
from common.redis_pipelined import PipelinedRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# KEYS: one per limit. ARGV: for each key, emission interval (µs), burst, cost.
# Returns {allowed, remaining, retry_after_us, reset_after_us, refusing limit (1-based) or 0}.
GCRA_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = #KEYS
local new_tats = {}
local remaining = -1
local reset_after = 0
for i = 1, n do
  local interval = tonumber(ARGV[3 * i - 2])
  local burst = tonumber(ARGV[3 * i - 1])
  local cost = tonumber(ARGV[3 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local new_tat = tat + cost * interval
  local allow_at = new_tat - burst * interval
  local diff = now - allow_at
  if diff < 0 then
    local retry_after = -diff
    if cost > burst then retry_after = -1 end
    return {0, 0, retry_after, tat - now, i}
  end
  new_tats[i] = new_tat
  local left = math.floor(diff / interval)
  if remaining < 0 or left < remaining then remaining = left end
  if new_tat - now > reset_after then reset_after = new_tat - now end
end
for i = 1, n do
  local ttl = math.ceil((new_tats[i] - now) / 1000)
  if ttl < 1 then ttl = 1 end
  redis.call('SET', KEYS[i], string.format('%d', new_tats[i]), 'PX', ttl)
end
return {1, remaining, 0, reset_after, 0}
"""


@dataclass(frozen=True, slots=True)
class Limit:
    """``limit`` requests per ``period_seconds``; up to ``burst`` at once (default: ``limit``)."""

    limit: int
    period_seconds: float
    burst: int | None = None

    def __post_init__(self) -> None:
        if self.limit < 1 or self.period_seconds <= 0:
            raise ValueError("a rate limit needs limit >= 1 and period_seconds > 0")
        if self.burst is not None and self.burst < 1:
            raise ValueError("burst must be >= 1")

    @property
    def interval_us(self) -> int:
        return max(1, round(self.period_seconds * 1_000_000 / self.limit))

    @property
    def effective_burst(self) -> int:
        return self.burst if self.burst is not None else self.limit


@dataclass(frozen=True, slots=True)
class LimitCheck:
    """One limit applied to one key (e.g. ``("otp-start:ip", "203.0.113.7", Limit(5, 60))``)."""

    name: str
    key: str
    limit: Limit
    cost: int = 1


@dataclass(frozen=True, slots=True)
class RateLimitResult:
    allowed: bool
    remaining: int
    retry_after: float
    """Seconds until the refused request could pass (0 when allowed; inf when it never can)."""
    reset_after: float
    """Seconds until the key is back to a full burst."""
    refused_by: str | None = None
    """Name of the limit that refused (``None`` when allowed)."""
    degraded: bool = False
    """True when Redis was unreachable and the caller chose to fail open."""

    @property
    def retry_after_seconds(self) -> int:
        """``Retry-After`` value: whole seconds, at least 1."""
        if math.isinf(self.retry_after):
            return 86_400
        return max(1, math.ceil(self.retry_after))


class RateLimiterUnavailable(Unavailable):
    code = "rate_limiter_unavailable"
    title = "Rate limiter unavailable"


class RateLimiter:
    """Checks limits atomically in Redis; safe to share across tasks and replicas."""

    def __init__(
        self, redis: Redis | PipelinedRedis, keys: KeySpace, *, namespace: str = "rl"
    ) -> None:
        """``redis``: a redis-py client, or a :class:`PipelinedRedis` on per-request hot paths."""
        self._redis = redis
        self._keys = keys
        self._namespace = namespace
        self._script = redis.register_script(GCRA_SCRIPT) if isinstance(redis, Redis) else None
        self.degraded = 0
        """How many checks failed open because Redis was unreachable (for metrics)."""
        self._last_degraded_log = 0.0

    def key_for(self, name: str, key: str) -> str:
        return self._keys.key(self._namespace, name, key)

    async def hit(
        self, name: str, key: str, limit: Limit, *, fail_open: bool, cost: int = 1
    ) -> RateLimitResult:
        return await self.hit_many([LimitCheck(name, key, limit, cost)], fail_open=fail_open)

    async def hit_many(self, checks: Sequence[LimitCheck], *, fail_open: bool) -> RateLimitResult:
        """Consumes ``cost`` from every check's key, or from none when one refuses."""
        if not checks:
            return RateLimitResult(allowed=True, remaining=0, retry_after=0.0, reset_after=0.0)
        keys = [self.key_for(c.name, c.key) for c in checks]
        args: list[int] = []
        for c in checks:
            args += (c.limit.interval_us, c.limit.effective_burst, c.cost)
        try:
            if self._script is not None:
                reply = await self._script(keys=keys, args=args)
            else:
                assert isinstance(self._redis, PipelinedRedis)
                reply = await self._redis.run_script(GCRA_SCRIPT, keys, args)
        except (RedisError, OSError) as exc:
            return self._unreachable(exc, checks, fail_open=fail_open)
        allowed, remaining, retry_us, reset_us, refused = (int(v) for v in reply)
        return RateLimitResult(
            allowed=bool(allowed),
            remaining=remaining,
            retry_after=math.inf if retry_us < 0 else retry_us / 1_000_000,
            reset_after=reset_us / 1_000_000,
            refused_by=checks[refused - 1].name if refused else None,
        )

    async def reset(self, name: str, key: str) -> None:
        """Forgets a key's history (e.g. after a successful sign-in)."""
        if isinstance(self._redis, Redis):
            await self._redis.delete(self.key_for(name, key))
        else:
            await self._redis.execute("DEL", self.key_for(name, key))

    def _unreachable(
        self, exc: Exception, checks: Sequence[LimitCheck], *, fail_open: bool
    ) -> RateLimitResult:
        names = ",".join(c.name for c in checks)
        if not fail_open:
            logger.warning(
                "rate limiter unavailable, refusing (fail closed)",
                extra={"limits": names, "error": type(exc).__name__},
            )
            raise RateLimiterUnavailable(
                "Rate limiting is unavailable; try again shortly.", retry_after=1
            ) from exc
        self.degraded += 1
        now = time.monotonic()
        if now - self._last_degraded_log > 5.0:
            self._last_degraded_log = now
            logger.warning(
                "rate limiter unavailable, allowing (fail open)",
                extra={"limits": names, "error": type(exc).__name__, "degraded": self.degraded},
            )
        return RateLimitResult(
            allowed=True, remaining=0, retry_after=0.0, reset_after=0.0, degraded=True
        )
