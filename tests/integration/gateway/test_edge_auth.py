"""Edge authentication: early 401/403 as problem+json; the token is forwarded for re-checks."""

from __future__ import annotations

import time

from common.redis_client import KeySpace
from common.session_revocation import RevokedSessions
from redis.asyncio import Redis

from tests.support.gateway_stack import StackFactory
from tests.support.isolation import RunInfra

PROTECTED = "/v1/auth/me"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_anonymous_request_to_protected_route_is_401(gateway_stack: StackFactory) -> None:
    async with gateway_stack() as stack:
        resp = await stack.client.get(PROTECTED)
        assert resp.status_code == 401
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json()["code"] == "token_missing"
        assert resp.headers["www-authenticate"].startswith("Bearer")
        assert stack.calls() == 0


async def test_bad_tokens_are_401_with_their_code(gateway_stack: StackFactory) -> None:
    async with gateway_stack() as stack:
        keys = stack.keys
        cases = {
            "token_invalid": ["not-a-jwt", keys.mint(aud="someone-else"), keys.mint(typ="JWT")],
            "token_expired": [keys.mint(exp=int(time.time()) - 3600, iat=int(time.time()) - 4000)],
        }
        for code, tokens in cases.items():
            for token in tokens:
                resp = await stack.client.get(PROTECTED, headers=_bearer(token))
                assert resp.status_code == 401, (code, resp.text)
                assert resp.json()["code"] == code
                assert "www-authenticate" in resp.headers
        resp = await stack.client.get(PROTECTED, headers={"Authorization": "Basic dXNlcjpwdw=="})
        assert resp.status_code == 401
        assert stack.calls() == 0


async def test_valid_token_is_forwarded_with_the_original_header(
    gateway_stack: StackFactory,
) -> None:
    async with gateway_stack() as stack:
        token = stack.keys.mint(role="driver")
        for _ in range(2):  # the second use is served from the claims cache
            resp = await stack.client.get(PROTECTED, headers=_bearer(token))
            assert resp.status_code == 200, resp.text
            assert stack.last("auth").all("authorization") == [f"Bearer {token}"]


async def test_admin_routes_need_role_admin_and_are_rewritten(gateway_stack: StackFactory) -> None:
    async with gateway_stack() as stack:
        path = "/v1/admin/payments/dead-letters/42/replay"
        assert (await stack.client.post(path)).status_code == 401
        driver = stack.keys.mint(role="driver")
        resp = await stack.client.post(path, headers=_bearer(driver))
        assert resp.status_code == 403
        assert resp.json()["code"] == "insufficient_scope"
        assert stack.calls() == 0

        admin = stack.keys.mint(role="admin")
        resp = await stack.client.post(path + "?dry_run=1", headers=_bearer(admin))
        assert resp.status_code == 200, resp.text
        received = stack.last("payments")
        assert received.path == "/v1/admin/dead-letters/42/replay"
        assert received.query == b"dry_run=1"
        resp = await stack.client.get("/v1/admin/auth/otp/diagnostics", headers=_bearer(admin))
        assert resp.status_code == 200
        assert stack.last("auth").path == "/v1/admin/otp/diagnostics"


async def test_revoked_session_is_refused(gateway_stack: StackFactory, infra: RunInfra) -> None:
    redis = Redis.from_url(infra.redis_url)
    try:
        async with gateway_stack(revocation_cache_seconds=0) as stack:
            claims = stack.keys.claims()
            token = stack.keys.mint(sid=claims["sid"], sub=claims["sub"])
            assert (await stack.client.get(PROTECTED, headers=_bearer(token))).status_code == 200
            await RevokedSessions(redis, KeySpace(stack.redis_prefix)).revoke(
                [claims["sid"]], ttl_seconds=60
            )
            resp = await stack.client.get(PROTECTED, headers=_bearer(token))
            assert resp.status_code == 401
            assert resp.json()["code"] == "session_revoked"
    finally:
        await redis.aclose()


async def test_jwks_unreachable_is_503_not_401(gateway_stack: StackFactory) -> None:
    async with gateway_stack(jwks_url="http://127.0.0.1:9/v1/auth/jwks.json") as stack:
        resp = await stack.client.get(PROTECTED, headers=_bearer(stack.keys.mint()))
        assert resp.status_code == 503
        assert resp.json()["code"] == "jwks_unavailable"
