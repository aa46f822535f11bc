"""Fixtures for the auth service against real Postgres/Redis/RabbitMQ and the fake Twilio.

The helpers tests use with them (``AuthClient``, ``running``, ``sign_in``, ``end_cooldown``...)
are in ``tests/support/auth_service.py``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from auth.phone_crypto import generate_key_material
from auth.settings import AuthSettings
from auth.signing_keys import generate_keyset_config

from tests.fakes.twilio.control import TwilioControl
from tests.support.auth_service import AuthClient, SettingsFactory, running
from tests.support.isolation import RunInfra


@pytest.fixture(scope="session")
def auth_secrets() -> dict[str, str]:
    """Key material shared by every app instance of the run (so a "restart" keeps keys)."""
    keys, kid = generate_keyset_config("test-auth-1")
    return {
        "jwt_signing_keys": keys,
        "jwt_active_kid": kid,
        "refresh_token_pepper": secrets.token_urlsafe(48),
        "phone_lookup_key": secrets.token_urlsafe(48),
        "phone_encryption_keys": json.dumps({"k1": generate_key_material()}),
        "phone_encryption_active_key_id": "k1",
    }


@pytest.fixture
def auth_settings(
    infra: RunInfra, fake_twilio: TwilioControl, auth_secrets: dict[str, str]
) -> SettingsFactory:
    def build(**overrides: Any) -> AuthSettings:
        values: dict[str, Any] = {
            "env": "test",
            "database_url": infra.database_url,
            "redis_url": infra.redis_url,
            "redis_key_prefix": infra.redis_prefix,
            "rabbitmq_url": infra.rabbitmq_url,
            "otp_provider": "twilio_verify",
            "twilio_account_sid": fake_twilio.account_sid,
            "twilio_api_key_sid": fake_twilio.config.api_key_sid,
            "twilio_api_key_secret": fake_twilio.config.api_key_secret,
            "twilio_verify_service_sid": fake_twilio.verify_service_sid,
            "twilio_api_base": fake_twilio.url,
            "twilio_timeout_seconds": 5.0,  # the fake shares the test loop: margin
            **auth_secrets,
            **overrides,
        }
        return AuthSettings(**values)

    return build


@pytest.fixture
async def auth(auth_settings: SettingsFactory) -> AsyncIterator[AuthClient]:
    async with running(auth_settings()) as client:
        yield client
