from __future__ import annotations

import pytest
from common.settings import (
    BrokerSettings,
    DatabaseSettings,
    Environment,
    RedisSettings,
    ServiceSettings,
    UnsafeSettingsError,
)
from pydantic import ValidationError


def test_env_is_required() -> None:
    with pytest.raises(ValidationError, match="env"):
        ServiceSettings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_deployed_env_without_otlp_endpoint_is_refused_naming_the_setting(env: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ServiceSettings(env=Environment(env))
    assert "OTLP_ENDPOINT" in str(caught.value)
    assert f"ENV={env}" in str(caught.value)


def test_local_and_test_accept_defaults() -> None:
    assert ServiceSettings(env=Environment.LOCAL).env is Environment.LOCAL
    assert ServiceSettings(env=Environment.TEST).otlp_endpoint is None


def test_unsafe_settings_error_lists_each_problem() -> None:
    err = UnsafeSettingsError(Environment.PROD, ["A: bad", "B: worse"])
    assert "A: bad" in str(err) and "B: worse" in str(err)


class _Connected(ServiceSettings, DatabaseSettings, RedisSettings, BrokerSettings):
    pass


def test_deployed_env_requires_explicit_connections_and_no_guest_account() -> None:
    with pytest.raises(ValidationError) as caught:
        _Connected(env=Environment.PROD, otlp_endpoint="http://otel:4318")
    message = str(caught.value)
    for name in ("DATABASE_URL", "REDIS_URL", "RABBITMQ_URL"):
        assert f"{name}: must be set explicitly" in message
    with pytest.raises(ValidationError, match="guest account"):
        _Connected(
            env=Environment.PROD,
            otlp_endpoint="http://otel:4318",
            database_url="postgresql+asyncpg://svc:pw@db/nerava",
            redis_url="redis://cache:6379/0",
            rabbitmq_url="amqp://guest:guest@mq:5672/",
        )
    settings = _Connected(
        env=Environment.PROD,
        otlp_endpoint="http://otel:4318",
        database_url="postgresql+asyncpg://svc:pw@db/nerava",
        redis_url="redis://cache:6379/0",
        rabbitmq_url="amqp://svc:pw@mq:5672/nerava",
    )
    assert settings.env is Environment.PROD


def test_startup_refusal_never_echoes_the_input_values() -> None:
    secret = "amqp://svc:hunter2-very-secret@mq:5672/nerava"
    with pytest.raises(ValidationError) as caught:
        _Connected(env=Environment.PROD, rabbitmq_url=secret)
    message = str(caught.value)
    assert "OTLP_ENDPOINT" in message
    assert "hunter2" not in message
