"""Per-route-class rate limits at the edge: per client IP and per user, one Redis round trip."""

from __future__ import annotations

from collections.abc import Mapping

from common.rate_limit import Limit, LimitCheck, RateLimiter, RateLimitResult

from gateway.settings import ClassLimits, LimitSpec

_ALLOWED = RateLimitResult(allowed=True, remaining=0, retry_after=0.0, reset_after=0.0)


def _limit(spec: LimitSpec | None) -> Limit | None:
    if spec is None:
        return None
    return Limit(spec.limit, spec.period_seconds, spec.burst)


class _ClassPolicy:
    __slots__ = ("fail_open", "ip_limit", "ip_name", "user_limit", "user_name")

    def __init__(self, route_class: str, limits: ClassLimits) -> None:
        self.ip_name = f"{route_class}:ip"
        self.user_name = f"{route_class}:user"
        self.ip_limit = _limit(limits.per_ip)
        self.user_limit = _limit(limits.per_user)
        self.fail_open = limits.fail_open


class EdgeRateLimits:
    def __init__(self, limiter: RateLimiter, limits: Mapping[str, ClassLimits]) -> None:
        self.limiter = limiter
        self._policies = {name: _ClassPolicy(name, spec) for name, spec in limits.items()}

    def fails_open(self, route_class: str) -> bool:
        policy = self._policies.get(route_class)
        return policy.fail_open if policy is not None else True

    async def check(self, route_class: str, client_ip: str, user_id: str | None) -> RateLimitResult:
        """Raises ``RateLimiterUnavailable`` when Redis is down and the class fails closed."""
        policy = self._policies.get(route_class)
        if policy is None:
            return _ALLOWED
        checks: list[LimitCheck] = []
        if policy.ip_limit is not None:
            checks.append(LimitCheck(policy.ip_name, client_ip, policy.ip_limit))
        if policy.user_limit is not None and user_id is not None:
            checks.append(LimitCheck(policy.user_name, user_id, policy.user_limit))
        if not checks:
            return _ALLOWED
        return await self.limiter.hit_many(checks, fail_open=policy.fail_open)
