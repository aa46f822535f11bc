"""Leased tokens make the edge limiter cheaper, never looser than the budget kept in Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from common.redis_client import KeySpace
from common.redis_pipelined import PipelinedRedis
from gateway.limits import EdgeRateLimits, lease_size
from gateway.rate_limit import RateLimiter
from gateway.settings import ClassLimits, LimitSpec

from tests.support.isolation import RunInfra

BUDGET = 40
LIMITS = {"default": ClassLimits(per_ip=LimitSpec(limit=BUDGET, period_seconds=3600))}


@pytest.fixture
async def limiter(infra: RunInfra) -> AsyncIterator[RateLimiter]:
    redis = PipelinedRedis(infra.redis_url)
    yield RateLimiter(redis, KeySpace(f"{infra.redis_prefix}:lease{uuid.uuid4().hex[:6]}"))
    await redis.aclose()


def test_small_budgets_are_never_leased() -> None:
    from gateway.rate_limit import Limit

    assert lease_size(Limit(5, 60)) == 1
    assert lease_size(Limit(20, 60)) == 1
    assert lease_size(Limit(40, 60)) == 2
    assert lease_size(Limit(100_000, 60)) == 10


async def test_sequential_requests_get_exactly_the_budget(limiter: RateLimiter) -> None:
    edge = EdgeRateLimits(limiter, LIMITS)
    allowed = [(await edge.check("default", "198.51.100.7", None)).allowed for _ in range(60)]
    assert sum(allowed) == BUDGET
    assert allowed[:BUDGET] == [True] * BUDGET
    # A second gateway replica (or a restart) shares the same Redis budget.
    other = EdgeRateLimits(limiter, LIMITS)
    assert not (await other.check("default", "198.51.100.7", None)).allowed


async def test_a_concurrent_burst_never_exceeds_the_budget(limiter: RateLimiter) -> None:
    edges = [EdgeRateLimits(limiter, LIMITS) for _ in range(3)]  # three replicas
    ip = "198.51.100.8"
    warm = [(await edge.check("default", ip, None)).allowed for edge in edges]  # leases held
    barrier = asyncio.Barrier(87)

    async def hit(i: int) -> bool:
        await barrier.wait()
        return (await edges[i % 3].check("default", ip, None)).allowed

    outcomes = await asyncio.gather(*(hit(i) for i in range(87)))
    assert sum(warm) + sum(outcomes) <= BUDGET
    assert sum(warm) + sum(outcomes) >= BUDGET // 2
