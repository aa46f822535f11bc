"""CORS allow-list (preflight allowed and refused), no wildcard outside local, read-only mode."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.support.gateway_stack import StackFactory, gateway_settings
from tests.support.isolation import RunInfra

APP = "https://app.nerava.test"
PATH = "/v1/wallet"


def _preflight(origin: str, headers: str = "authorization, content-type") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": headers,
    }


async def test_preflight_from_allowed_origin(gateway_stack: StackFactory) -> None:
    async with gateway_stack(cors_allowed_origins=(APP,)) as stack:
        resp = await stack.client.options(PATH, headers=_preflight(APP))
        assert resp.status_code == 204
        assert resp.headers["access-control-allow-origin"] == APP
        assert "POST" in resp.headers["access-control-allow-methods"]
        assert resp.headers["access-control-allow-headers"] == "authorization, content-type"
        assert resp.headers["vary"] == "Origin"
        assert stack.calls() == 0  # answered at the edge, no token needed


async def test_preflight_from_other_origin_or_header_is_refused(
    gateway_stack: StackFactory,
) -> None:
    async with gateway_stack(cors_allowed_origins=(APP,)) as stack:
        for headers in (_preflight("https://evil.test"), _preflight(APP, "x-secret-header")):
            resp = await stack.client.options(PATH, headers=headers)
            assert resp.status_code == 403
            assert resp.json()["code"] == "cors_origin_refused"
            assert "access-control-allow-origin" not in resp.headers


async def test_actual_responses_carry_cors_headers_only_for_allowed_origins(
    gateway_stack: StackFactory,
) -> None:
    async with gateway_stack(cors_allowed_origins=(APP,)) as stack:
        resp = await stack.client.get("/v1/webhooks/stripe", headers={"Origin": APP})
        assert resp.headers["access-control-allow-origin"] == APP
        assert "X-Request-Id" in resp.headers["access-control-expose-headers"]
        # Errors too, so the page can read the problem.
        resp = await stack.client.get(PATH, headers={"Origin": APP})
        assert resp.status_code == 401
        assert resp.headers["access-control-allow-origin"] == APP
        resp = await stack.client.get(
            "/v1/webhooks/stripe", headers={"Origin": "https://evil.test"}
        )
        assert "access-control-allow-origin" not in resp.headers


@pytest.mark.parametrize("env", ["test", "staging", "prod"])
def test_wildcard_origin_refused_outside_local(infra: RunInfra, env: str) -> None:
    with pytest.raises(ValidationError, match="CORS_ALLOWED_ORIGINS"):
        gateway_settings(infra, env=env, cors_allowed_origins=("*",))


def test_wildcard_origin_allowed_in_local(infra: RunInfra) -> None:
    assert gateway_settings(infra, env="local", cors_allowed_origins=("*",)).cors_allowed_origins


async def test_read_only_mode_refuses_writes_but_serves_reads_and_webhooks(
    gateway_stack: StackFactory,
) -> None:
    async with gateway_stack(emergency_readonly_mode=True) as stack:
        token = stack.keys.mint()
        auth = {"Authorization": f"Bearer {token}"}
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            resp = await stack.client.request(method, "/v1/wallet/redeem", headers=auth, json={})
            assert resp.status_code == 503, method
            assert resp.json()["code"] == "read_only_mode"
            assert "retry-after" in resp.headers
        assert stack.calls() == 0
        assert (await stack.client.get("/v1/wallet", headers=auth)).status_code == 200
        resp = await stack.client.post("/v1/webhooks/stripe", content=b'{"id":"evt_1"}')
        assert resp.status_code == 200
        resp = await stack.client.post("/v1/webhooks/twilio/sms", content=b"Body=DONE")
        assert resp.status_code == 200


async def test_read_only_mode_lets_token_refresh_and_logout_through(
    gateway_stack: StackFactory,
) -> None:
    """Refresh and logout change only login-session state: refusing them would sign every user
    out within one access-token lifetime and leave nobody able to sign out."""
    async with gateway_stack(emergency_readonly_mode=True) as stack:
        auth = {"Authorization": f"Bearer {stack.keys.mint()}"}
        resp = await stack.client.post("/v1/auth/token/refresh", json={"refresh_token": "x"})
        assert resp.status_code == 200, resp.text
        assert stack.last("auth").path == "/v1/auth/token/refresh"
        resp = await stack.client.post("/v1/auth/logout", headers=auth, json={"scope": "local"})
        assert resp.status_code == 200, resp.text
        assert stack.last("auth").path == "/v1/auth/logout"
        # signing in (it may register a user) and every other write stay refused
        resp = await stack.client.post("/v1/auth/otp/start", json={"phone": "+14155550100"})
        assert resp.status_code == 503 and resp.json()["code"] == "read_only_mode"
        resp = await stack.client.put("/v1/account/consent", headers=auth, json={})
        assert resp.status_code == 503 and resp.json()["code"] == "read_only_mode"
        assert stack.calls() == 2
