"""``make run OTP_PROVIDER=twilio_verify``: the local stack's auth on the real Twilio SDK against
the fake Twilio (settings that auth accepts in ENV=local), the console provider by default."""

from __future__ import annotations

from pathlib import Path

import pytest
from auth.settings import AuthSettings, OtpProviderName

from deploy.local.environment import LOCAL_PORTS, local_infrastructure, process_env

ROOT = Path(__file__).resolve().parents[3]


def _auth_settings(env: dict[str, str]) -> AuthSettings:
    fields = AuthSettings.model_fields
    return AuthSettings(**{k.lower(): v for k, v in env.items() if k.lower() in fields})


def test_the_local_stack_can_sign_in_through_the_fake_twilio() -> None:
    env = process_env("auth", LOCAL_PORTS, local_infrastructure(), "twilio_verify")
    assert env["OTP_PROVIDER"] == "twilio_verify"
    assert env["TWILIO_API_BASE"] == f"http://127.0.0.1:{LOCAL_PORTS['fake-twilio']}"
    settings = _auth_settings(env)
    assert settings.env.value == "local"
    assert settings.otp_provider is OtpProviderName.TWILIO_VERIFY


def test_the_console_provider_stays_the_default() -> None:
    env = process_env("auth", LOCAL_PORTS, local_infrastructure())
    assert env["OTP_PROVIDER"] == "console"


def test_an_unknown_provider_is_refused() -> None:
    with pytest.raises(ValueError, match="OTP_PROVIDER"):
        process_env("auth", LOCAL_PORTS, local_infrastructure(), "sms_gateway")


def test_make_run_passes_the_provider_to_the_launcher() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "deploy.local.stack --otp-provider $(or $(OTP_PROVIDER),console)" in makefile
