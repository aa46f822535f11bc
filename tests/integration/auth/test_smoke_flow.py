"""The happy path: start, verify, me, refresh, logout."""

from __future__ import annotations

import logging

import pytest
from auth.twilio_verify import TwilioVerifyProvider

from tests.fakes.twilio.control import TwilioControl
from tests.support.auth_service import AuthClient, SettingsFactory, running, sign_in
from tests.support.samples import random_phone


async def test_sign_in_me_refresh_logout(auth: AuthClient, fake_twilio: TwilioControl) -> None:
    phone = random_phone()
    tokens = await sign_in(auth, fake_twilio, phone)
    assert tokens["token_type"] == "Bearer"
    assert tokens["user"]["role"] == "driver"
    assert tokens["user"]["phone_masked"].endswith(phone[-4:])
    me = await auth.get("/v1/auth/me", token=tokens["access_token"])
    assert me.status_code == 200, me.text
    assert me.json()["id"] == tokens["user"]["id"]
    refreshed = await auth.post(
        "/v1/auth/token/refresh", {"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    out = await auth.post("/v1/auth/logout", {"scope": "local"}, token=tokens["access_token"])
    assert out.status_code == 204, out.text
    me = await auth.get("/v1/auth/me", token=refreshed.json()["access_token"])
    assert me.status_code == 401
    assert me.json()["code"] == "session_revoked"


async def test_startup_logs_the_provider_and_shutdown_closes_the_twilio_client(
    auth_settings: SettingsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="auth.main")
    async with running(auth_settings()) as auth:
        provider = auth.deps.provider
        assert isinstance(provider, TwilioVerifyProvider)
        assert await provider.start(random_phone(), client_ip=None)  # its HTTP client is open
    with pytest.raises(RuntimeError, match="Session is closed"):  # aiohttp's, once closed
        await provider.start(random_phone(), client_ip=None)
    assert "otp provider active: twilio_verify" in caplog.text
