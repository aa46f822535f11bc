"""Rate limits per route class in Redis: 429 + Retry-After, surviving a restart, outage modes."""

from __future__ import annotations

import uuid

from gateway.settings import DEFAULT_RATE_LIMITS, ClassLimits, LimitSpec

from tests.support.gateway_stack import StackFactory

OTP = "/v1/auth/otp/start"
WEBHOOK = "/v1/webhooks/stripe"


def _limits(**classes: ClassLimits) -> dict[str, ClassLimits]:
    return {**DEFAULT_RATE_LIMITS, **classes}


async def test_over_the_limit_is_429_with_retry_after_and_survives_restart(
    gateway_stack: StackFactory,
) -> None:
    limits = _limits(
        otp=ClassLimits(per_ip=LimitSpec(limit=3, period_seconds=600), fail_open=False)
    )
    async with gateway_stack(rate_limits=limits) as stack:
        for _ in range(3):
            assert (await stack.client.post(OTP, json={})).status_code == 200
        resp = await stack.client.post(OTP, json={})
        assert resp.status_code == 429
        assert resp.headers["content-type"] == "application/problem+json"
        body = resp.json()
        assert body["code"] == "rate_limited"
        assert body["limit"] == "otp:ip"
        retry_after = int(resp.headers["retry-after"])
        assert 1 <= retry_after <= 200
        assert body["retry_after"] == retry_after
        assert len(stack.upstreams["auth"].received) == 3
    # A new gateway process state (same Redis): still limited.
    async with gateway_stack(rate_limits=limits) as restarted:
        resp = await restarted.client.post(OTP, json={})
        assert resp.status_code == 429
        assert int(resp.headers["retry-after"]) >= 1
        assert restarted.calls() == 0


async def test_limits_are_per_route_class(gateway_stack: StackFactory) -> None:
    limits = _limits(
        webhooks=ClassLimits(per_ip=LimitSpec(limit=1, period_seconds=600)),
    )
    async with gateway_stack(rate_limits=limits) as stack:
        assert (await stack.client.post(WEBHOOK, content=b"a")).status_code == 200
        assert (await stack.client.post(WEBHOOK, content=b"b")).status_code == 429
        # Another class is untouched by the webhooks budget.
        assert (await stack.client.post(OTP, json={})).status_code == 200


async def test_per_user_limit_keys_on_the_token_subject(gateway_stack: StackFactory) -> None:
    limits = _limits(
        default=ClassLimits(
            per_ip=LimitSpec(limit=1000, period_seconds=60),
            per_user=LimitSpec(limit=2, period_seconds=600),
        )
    )
    async with gateway_stack(rate_limits=limits) as stack:
        alice = stack.keys.mint(sub=str(uuid.uuid4()))
        bob = stack.keys.mint(sub=str(uuid.uuid4()))
        path = "/v1/chargers/nearby"
        for _ in range(2):
            resp = await stack.client.get(path, headers={"Authorization": f"Bearer {alice}"})
            assert resp.status_code == 200
        resp = await stack.client.get(path, headers={"Authorization": f"Bearer {alice}"})
        assert resp.status_code == 429
        assert resp.json()["limit"] == "default:user"
        resp = await stack.client.get(path, headers={"Authorization": f"Bearer {bob}"})
        assert resp.status_code == 200


async def test_redis_down_fails_closed_for_otp_and_money_open_for_others(
    gateway_stack: StackFactory,
) -> None:
    async with gateway_stack(redis_url="redis://127.0.0.1:1/0", redis_timeout_seconds=0.5) as stack:
        resp = await stack.client.post(OTP, json={})
        assert resp.status_code == 503
        assert resp.json()["code"] == "rate_limiter_unavailable"
        token = stack.keys.mint()
        resp = await stack.client.post(
            "/v1/payouts", json={}, headers={"Authorization": f"Bearer {token}"}
        )
        # money fails closed too (the revocation check needs Redis as well: also 503)
        assert resp.status_code == 503
        assert stack.calls() == 0
        resp = await stack.client.post(WEBHOOK, content=b"{}")
        assert resp.status_code == 200
        metrics = (await stack.client.get("/metrics")).text
        assert 'gateway_rate_limit_degraded_total{route_class="webhooks"} 1.0' in metrics
