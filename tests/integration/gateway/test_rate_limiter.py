"""The shared GCRA rate limiter on real Redis, through redis-py and the pipelined client."""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import AsyncIterator

import pytest
from common.redis_client import KeySpace
from common.redis_pipelined import PipelinedRedis
from gateway.rate_limit import Limit, LimitCheck, RateLimiter, RateLimiterUnavailable
from redis.asyncio import Redis

from tests.support.isolation import RunInfra


@pytest.fixture(params=["redis-py", "pipelined"])
async def limiter(request: pytest.FixtureRequest, infra: RunInfra) -> AsyncIterator[RateLimiter]:
    keys = KeySpace(f"{infra.redis_prefix}:rl{uuid.uuid4().hex[:6]}")
    if request.param == "redis-py":
        client = Redis.from_url(infra.redis_url)
        yield RateLimiter(client, keys)
        await client.aclose()
    else:
        pipelined = PipelinedRedis(infra.redis_url)
        yield RateLimiter(pipelined, keys)
        await pipelined.aclose()


async def test_burst_then_refusal_with_retry_after(limiter: RateLimiter) -> None:
    limit = Limit(limit=3, period_seconds=60)
    results = [await limiter.hit("send", "k", limit, fail_open=False) for _ in range(4)]
    assert [r.allowed for r in results] == [True, True, True, False]
    assert [r.remaining for r in results[:3]] == [2, 1, 0]
    refused = results[3]
    assert refused.refused_by == "send"
    assert 0 < refused.retry_after <= 20
    assert refused.retry_after_seconds == math.ceil(refused.retry_after)


async def test_concurrent_hits_never_exceed_the_burst(limiter: RateLimiter) -> None:
    limit = Limit(limit=10, period_seconds=3600)
    barrier = asyncio.Barrier(50)

    async def hit() -> bool:
        await barrier.wait()
        return (await limiter.hit("race", "k", limit, fail_open=False)).allowed

    outcomes = await asyncio.gather(*(hit() for _ in range(50)))
    assert sum(outcomes) == 10


async def test_several_limits_consume_all_or_nothing(limiter: RateLimiter) -> None:
    ip = LimitCheck("ip", "1.2.3.4", Limit(limit=100, period_seconds=60))
    user = LimitCheck("user", "u1", Limit(limit=1, period_seconds=60))
    assert (await limiter.hit_many([ip, user], fail_open=False)).allowed
    refused = await limiter.hit_many([ip, user], fail_open=False)
    assert not refused.allowed
    assert refused.refused_by == "user"
    # The refused call did not consume the IP budget: 99 left, one more taken now.
    other = LimitCheck("user", "u2", Limit(limit=1, period_seconds=60))
    assert (await limiter.hit_many([ip, other], fail_open=False)).remaining == 0
    assert (await limiter.hit("ip", "1.2.3.4", ip.limit, fail_open=False)).remaining == 97


async def test_cost_larger_than_burst_never_passes(limiter: RateLimiter) -> None:
    result = await limiter.hit(
        "big", "k", Limit(limit=2, period_seconds=60), fail_open=False, cost=3
    )
    assert not result.allowed
    assert math.isinf(result.retry_after)


async def test_reset_forgets_a_key(limiter: RateLimiter) -> None:
    limit = Limit(limit=1, period_seconds=60)
    assert (await limiter.hit("r", "k", limit, fail_open=False)).allowed
    assert not (await limiter.hit("r", "k", limit, fail_open=False)).allowed
    await limiter.reset("r", "k")
    assert (await limiter.hit("r", "k", limit, fail_open=False)).allowed


@pytest.mark.parametrize("client", ["redis-py", "pipelined"])
async def test_redis_down_fails_closed_or_open_by_choice(client: str) -> None:
    url = "redis://127.0.0.1:1/0"
    redis: Redis | PipelinedRedis = (
        Redis.from_url(url, socket_connect_timeout=0.3)
        if client == "redis-py"
        else PipelinedRedis(url, timeout=0.3)
    )
    limiter = RateLimiter(redis, KeySpace("down"))
    limit = Limit(limit=1, period_seconds=60)
    with pytest.raises(RateLimiterUnavailable) as refused:
        await limiter.hit("x", "k", limit, fail_open=False)
    assert refused.value.status == 503
    result = await limiter.hit("x", "k", limit, fail_open=True)
    assert result.allowed and result.degraded
    assert limiter.degraded == 1
    await redis.aclose()


async def test_pipelined_client_recovers_after_script_flush(infra: RunInfra) -> None:
    redis = PipelinedRedis(infra.redis_url)
    limiter = RateLimiter(redis, KeySpace(f"{infra.redis_prefix}:flush{uuid.uuid4().hex[:6]}"))
    limit = Limit(limit=5, period_seconds=60)
    assert (await limiter.hit("f", "k", limit, fail_open=False)).remaining == 4
    await redis.execute("SCRIPT", "FLUSH")  # as after a Redis restart: NOSCRIPT, then EVAL
    assert (await limiter.hit("f", "k", limit, fail_open=False)).remaining == 3
    await redis.aclose()
