"""Per-route-class rate limits at the edge: per client IP and per user, in Redis.

Exact for small budgets, cheap for large ones. A key whose burst is large (``>= 40``) takes its
tokens from Redis in small *leases* (up to 10 at once, a 20th of the burst), spends them locally
and drops whatever is left after ``LEASE_SECONDS``. Redis stays the only authority: tokens are
reserved there before they are spent, so a lease can only make a limit stricter (by the unused
part of a lease), never looser, and counters survive restarts as before. Small budgets (OTP,
money: bursts of 5-20) are checked in Redis on every request. When a lease-sized reservation is
refused, the request is retried for one token, so a nearly spent budget is still usable.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from gateway.rate_limit import Limit, LimitCheck, RateLimiter, RateLimitResult
from gateway.settings import ClassLimits, LimitSpec

_ALLOWED = RateLimitResult(allowed=True, remaining=0, retry_after=0.0, reset_after=0.0)
LEASE_SECONDS = 1.0
_MAX_LEASE = 10
_LEASE_FRACTION = 20
_LEASES_LIMIT = 50_000


def _limit(spec: LimitSpec | None) -> Limit | None:
    if spec is None:
        return None
    return Limit(spec.limit, spec.period_seconds, spec.burst)


def lease_size(limit: Limit) -> int:
    return max(1, min(_MAX_LEASE, limit.effective_burst // _LEASE_FRACTION))


class _ClassPolicy:
    __slots__ = (
        "fail_open",
        "ip_lease",
        "ip_limit",
        "ip_name",
        "user_lease",
        "user_limit",
        "user_name",
    )

    def __init__(self, route_class: str, limits: ClassLimits) -> None:
        self.ip_name = f"{route_class}:ip"
        self.user_name = f"{route_class}:user"
        self.ip_limit = _limit(limits.per_ip)
        self.user_limit = _limit(limits.per_user)
        self.ip_lease = lease_size(self.ip_limit) if self.ip_limit else 1
        self.user_lease = lease_size(self.user_limit) if self.user_limit else 1
        self.fail_open = limits.fail_open


class EdgeRateLimits:
    def __init__(self, limiter: RateLimiter, limits: Mapping[str, ClassLimits]) -> None:
        self.limiter = limiter
        self._policies = {name: _ClassPolicy(name, spec) for name, spec in limits.items()}
        # (limit name, key) -> [tokens left, lease expiry (monotonic)]
        self._leases: dict[tuple[str, str], list[float]] = {}

    def fails_open(self, route_class: str) -> bool:
        policy = self._policies.get(route_class)
        return policy.fail_open if policy is not None else True

    async def check(self, route_class: str, client_ip: str, user_id: str | None) -> RateLimitResult:
        """Raises ``RateLimiterUnavailable`` when Redis is down and the class fails closed."""
        policy = self._policies.get(route_class)
        if policy is None:
            return _ALLOWED
        now = time.monotonic()
        wanted: list[tuple[tuple[str, str], Limit, int]] = []
        local: list[list[float]] = []
        if policy.ip_limit is not None:
            self._plan(
                (policy.ip_name, client_ip), policy.ip_limit, policy.ip_lease, now, wanted, local
            )
        if policy.user_limit is not None and user_id is not None:
            self._plan(
                (policy.user_name, user_id),
                policy.user_limit,
                policy.user_lease,
                now,
                wanted,
                local,
            )
        if wanted:
            verdict = await self._reserve(wanted, policy.fail_open, now)
            if not verdict.allowed:
                return verdict
        else:
            verdict = _ALLOWED
        for lease in local:
            lease[0] -= 1
        return verdict

    def _plan(
        self,
        slot: tuple[str, str],
        limit: Limit,
        size: int,
        now: float,
        wanted: list[tuple[tuple[str, str], Limit, int]],
        local: list[list[float]],
    ) -> None:
        lease = self._leases.get(slot) if size > 1 else None
        if lease is not None and lease[0] >= 1 and lease[1] > now:
            local.append(lease)
        else:
            wanted.append((slot, limit, size))

    async def _reserve(
        self, wanted: list[tuple[tuple[str, str], Limit, int]], fail_open: bool, now: float
    ) -> RateLimitResult:
        checks = [LimitCheck(slot[0], slot[1], limit, size) for slot, limit, size in wanted]
        verdict = await self.limiter.hit_many(checks, fail_open=fail_open)
        if not verdict.allowed and any(size > 1 for _, _, size in wanted):
            checks = [LimitCheck(slot[0], slot[1], limit) for slot, limit, _ in wanted]
            verdict = await self.limiter.hit_many(checks, fail_open=fail_open)
            if verdict.allowed:
                return verdict
        if not verdict.allowed or verdict.degraded:
            return verdict
        leases = self._leases
        if len(leases) > _LEASES_LIMIT:
            leases.clear()
        for slot, _, size in wanted:
            if size > 1:
                # One token of the reservation is this request's; concurrent reservations
                # for the same key add up (the unused rest expires with the lease).
                lease = leases.get(slot)
                if lease is not None and lease[1] > now:
                    lease[0] += size - 1
                else:
                    leases[slot] = [float(size - 1), now + LEASE_SECONDS]
        return verdict
