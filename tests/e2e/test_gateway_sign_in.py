"""Sign-in through the real gateway to the real auth service (JWKS, edge checks, logout)."""

from __future__ import annotations

import secrets

import aiohttp

from tests.fakes.twilio.config import TwilioFakeConfig
from tests.fakes.twilio.control import TwilioControl
from tests.support.system_stack import RunningStack


async def test_sign_in_me_admin_and_logout_through_the_gateway(stack: RunningStack) -> None:
    phone = f"+1415{secrets.randbelow(10_000_000):07d}"
    gateway = stack.gateway
    async with aiohttp.ClientSession() as http:
        twilio = TwilioControl(stack.url("fake-twilio"), http, TwilioFakeConfig())
        async with http.post(f"{gateway}/v1/auth/otp/start", json={"phone": phone}) as resp:
            assert resp.status == 202, await resp.text()
            challenge = (await resp.json())["challenge_id"]
        code = await twilio.last_code_for(phone)
        body = {"challenge_id": challenge, "code": code}
        async with http.post(f"{gateway}/v1/auth/otp/verify", json=body) as resp:
            assert resp.status == 200, await resp.text()
            tokens = await resp.json()
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}

        async with http.get(f"{gateway}/v1/auth/me") as resp:
            assert resp.status == 401
            assert (await resp.json())["code"] == "token_missing"
        async with http.get(f"{gateway}/v1/auth/me", headers=bearer) as resp:
            assert resp.status == 200, await resp.text()
            assert (await resp.json())["id"] == tokens["user"]["id"]
        diagnostics = f"{gateway}/v1/admin/auth/otp/diagnostics"
        async with http.get(diagnostics, headers=bearer) as resp:
            assert resp.status == 403  # a driver, refused at the edge
            assert (await resp.json())["code"] == "insufficient_scope"

        logout = {"scope": "local"}
        async with http.post(f"{gateway}/v1/auth/logout", json=logout, headers=bearer) as resp:
            assert resp.status == 204, await resp.text()
        async with http.get(f"{gateway}/v1/auth/me", headers=bearer) as resp:
            assert resp.status == 401
            assert (await resp.json())["code"] == "session_revoked"

        async with http.get(f"{gateway}/openapi.json") as resp:
            paths = (await resp.json())["paths"]
        assert "/v1/auth/otp/start" in paths
        assert "/v1/admin/auth/otp/diagnostics" in paths
