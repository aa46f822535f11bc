"""Outside local/test the service refuses to start without Twilio credentials, a Messaging
Service SID or From number, the public base URL and phone keys; the console sender exists only
for local/test; an incomplete Twilio configuration is refused everywhere."""

from __future__ import annotations

import json
from typing import Any

import pytest
from notifications.phone_vault import generate_key_material
from notifications.settings import NotificationsSettings, SmsSenderName
from pydantic import ValidationError

SAFE: dict[str, Any] = {
    "env": "prod",
    "otlp_endpoint": "http://otel:4317",
    "database_url": "postgresql+asyncpg://notifications@db/nerava",
    "redis_url": "redis://redis:6379/0",
    "rabbitmq_url": "amqp://notifications:s3cret@rabbitmq/",
    "sms_sender": "twilio",
    "twilio_account_sid": "AC" + "a" * 32,
    "twilio_auth_token": "f" * 32,
    "twilio_messaging_service_sid": "MG" + "b" * 32,
    "public_base_url": "https://api.nerava.app",
    "phone_encryption_keys": json.dumps({"k1": generate_key_material()}),
    "phone_encryption_active_key_id": "k1",
    "phone_lookup_key": "0123456789abcdefghijklmnopqrstuvwxyzABCD",
}


def test_a_complete_production_configuration_starts() -> None:
    settings = NotificationsSettings(**SAFE)
    assert settings.sender is SmsSenderName.TWILIO


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("twilio_account_sid", "TWILIO_ACCOUNT_SID"),
        ("twilio_auth_token", "TWILIO_AUTH_TOKEN"),
        ("twilio_messaging_service_sid", "TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER"),
        ("public_base_url", "PUBLIC_BASE_URL"),
        ("phone_encryption_keys", "PHONE_ENCRYPTION_KEYS"),
        ("phone_lookup_key", "PHONE_LOOKUP_KEY"),
        ("sms_sender", "SMS_SENDER"),
    ],
)
def test_production_refuses_to_start_without(missing: str, named: str) -> None:
    values = {k: v for k, v in SAFE.items() if k != missing}
    with pytest.raises(ValidationError) as refused:
        NotificationsSettings(**values)
    assert named in str(refused.value)
    assert "f" * 32 not in str(refused.value)  # never echoes a secret


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"sms_sender": "console"}, "SMS_SENDER"),
        ({"twilio_api_base": "http://fake-twilio:8010"}, "TWILIO_API_BASE"),
        ({"public_base_url": "http://api.nerava.app"}, "PUBLIC_BASE_URL"),
    ],
)
def test_production_refuses_local_stand_ins(override: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError) as refused:
        NotificationsSettings(**{**SAFE, **override})
    assert named in str(refused.value)


def test_the_console_sender_is_the_local_default() -> None:
    assert NotificationsSettings(env="local").sender is SmsSenderName.CONSOLE
    assert NotificationsSettings(env="test", sms_sender="console").sender is SmsSenderName.CONSOLE


def test_an_incomplete_twilio_configuration_is_refused_in_test_too() -> None:
    with pytest.raises(ValidationError, match="TWILIO_ACCOUNT_SID"):
        NotificationsSettings(env="test", sms_sender="twilio")


POSTHOG = {
    "posthog_forwarding": True,
    "posthog_host": "https://eu.i.posthog.com",
    "posthog_project_api_key": "phc_" + "p" * 40,
}


def test_posthog_settings_are_needed_only_when_forwarding_is_on() -> None:
    assert NotificationsSettings(**SAFE).posthog_forwarding is False
    assert NotificationsSettings(**SAFE, **POSTHOG).posthog_forwarding is True


@pytest.mark.parametrize(
    ("env", "override", "named"),
    [
        ("prod", {"posthog_host": None}, "POSTHOG_HOST"),
        ("prod", {"posthog_project_api_key": None}, "POSTHOG_PROJECT_API_KEY"),
        ("prod", {"posthog_host": "http://posthog.internal"}, "POSTHOG_HOST: must be https"),
        ("local", {"posthog_host": None}, "POSTHOG_HOST"),
        ("test", {"posthog_project_api_key": None}, "POSTHOG_PROJECT_API_KEY"),
    ],
)
def test_forwarding_without_its_posthog_settings_is_refused(
    env: str, override: dict[str, Any], named: str
) -> None:
    values = {**SAFE, **POSTHOG, **override, "env": env}
    if env != "prod":
        values = {**POSTHOG, **override, "env": env}
    with pytest.raises(ValidationError) as refused:
        NotificationsSettings(**values)
    assert named in str(refused.value)
    assert "p" * 40 not in str(refused.value)
