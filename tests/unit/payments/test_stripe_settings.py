"""The Stripe settings mixin: what each environment accepts and refuses (issue 14, item 7)."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from common.settings import DatabaseSettings, Environment, ServiceSettings
from payments.stripe_settings import SDK_API_VERSION, StripeSettings
from pydantic import ValidationError

LIVE = "sk_live_" + "a1" * 20
TEST = "sk_test_" + "b2" * 20
SECRET = "whsec_" + "c3" * 16


class BaseFirst(ServiceSettings, StripeSettings):
    pass


class MixinFirst(StripeSettings, ServiceSettings):
    pass


def prod_ready(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "otlp_endpoint": "http://otel:4318",
        "stripe_secret_key": LIVE,
        "stripe_api_version": "2026-10-28.endive",
        "stripe_webhook_secrets": [SECRET],
        "stripe_connect_refresh_url": "https://app.nerava.app/payouts/refresh",
        "stripe_connect_return_url": "https://app.nerava.app/payouts/return",
    }
    values.update(overrides)
    return values


def refused(cls: type[ServiceSettings], env: Environment, **values: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        cls(env=env, **values)
    return str(caught.value)


def test_sdk_api_version_constant_matches_the_installed_sdk() -> None:
    assert stripe.api_version == SDK_API_VERSION


@pytest.mark.parametrize("cls", [BaseFirst, MixinFirst])
def test_prod_with_everything_explicit_starts(cls: type[ServiceSettings]) -> None:
    settings = cls(env=Environment.PROD, **prod_ready())
    assert isinstance(settings, StripeSettings)
    assert settings.stripe_livemode is True
    assert settings.stripe_timeout_seconds == 5.0


@pytest.mark.parametrize("cls", [BaseFirst, MixinFirst])
@pytest.mark.parametrize("env", [Environment.STAGING, Environment.PROD])
def test_deployed_requires_key_secrets_version_and_onboarding_urls(
    cls: type[ServiceSettings], env: Environment
) -> None:
    message = refused(cls, env, otlp_endpoint="http://otel:4318")
    for name in (
        "STRIPE_SECRET_KEY: required",
        "STRIPE_API_VERSION: must be set explicitly",
        "STRIPE_WEBHOOK_SECRETS: at least one",
        "STRIPE_CONNECT_REFRESH_URL",
        "STRIPE_CONNECT_RETURN_URL",
    ):
        assert name in message
    assert f"ENV={env.value}" in message


class Connected(ServiceSettings, DatabaseSettings, StripeSettings):
    pass


class StripeFirst(StripeSettings, ServiceSettings, DatabaseSettings):
    pass


@pytest.mark.parametrize("cls", [Connected, StripeFirst])
def test_every_problem_is_reported_at_once_in_either_order(cls: type[ServiceSettings]) -> None:
    message = refused(cls, Environment.PROD)
    for name in ("OTLP_ENDPOINT", "DATABASE_URL", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRETS"):
        assert message.count(f"{name}:") == 1


def test_test_key_is_refused_in_prod_and_live_key_outside_prod() -> None:
    message = refused(BaseFirst, Environment.PROD, **prod_ready(stripe_secret_key=TEST))
    assert "test-mode key is refused with ENV=prod" in message
    assert TEST not in message
    for env in (Environment.STAGING, Environment.LOCAL, Environment.TEST):
        staging_like = prod_ready(stripe_secret_key=LIVE)
        message = refused(BaseFirst, env, **staging_like)
        assert f"live-mode key is refused with ENV={env.value}" in message
        assert LIVE not in message
    assert BaseFirst(env=Environment.STAGING, **prod_ready(stripe_secret_key=TEST))


def test_restricted_keys_are_accepted_and_other_strings_refused() -> None:
    assert BaseFirst(env=Environment.PROD, **prod_ready(stripe_secret_key="rk_live_abc123"))
    message = refused(BaseFirst, Environment.TEST, stripe_secret_key="pk_test_publishable")
    assert "must be a secret (sk_) or restricted (rk_) API key" in message
    assert "pk_test_publishable" not in message


def test_webhook_secrets_are_a_list_of_distinct_signing_secrets() -> None:
    settings = BaseFirst(
        env=Environment.TEST, stripe_webhook_secrets=[SECRET, "whsec_" + "d4" * 16]
    )
    assert len(settings.stripe_webhook_secrets) == 2
    message = refused(BaseFirst, Environment.TEST, stripe_webhook_secrets=["not-a-secret"])
    assert "STRIPE_WEBHOOK_SECRETS[0]: must be a signing secret" in message
    message = refused(BaseFirst, Environment.TEST, stripe_webhook_secrets=[SECRET, SECRET])
    assert "same secret twice" in message
    assert SECRET not in message


def test_webhook_secrets_come_from_a_json_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENV", "test")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRETS", f'["{SECRET}"]')
    monkeypatch.setenv("STRIPE_SECRET_KEY", TEST)
    settings = BaseFirst()  # type: ignore[call-arg]
    assert isinstance(settings, StripeSettings)
    assert [s.get_secret_value() for s in settings.stripe_webhook_secrets] == [SECRET]
    assert settings.stripe_livemode is False


def test_api_base_is_for_local_and_test_only() -> None:
    local = BaseFirst(env=Environment.LOCAL, stripe_api_base="http://127.0.0.1:8011")
    assert isinstance(local, StripeSettings) and local.stripe_api_base
    message = refused(
        BaseFirst, Environment.STAGING, **prod_ready(stripe_secret_key=TEST, stripe_api_base="x")
    )
    assert "STRIPE_API_BASE: must be unset" in message
    assert "STRIPE_API_BASE: must be an absolute http(s) URL" in message


def test_local_and_test_accept_the_defaults() -> None:
    settings = BaseFirst(env=Environment.TEST)
    assert isinstance(settings, StripeSettings)
    assert settings.stripe_secret_key is None
    assert settings.stripe_api_version == SDK_API_VERSION
    assert settings.stripe_webhook_tolerance_seconds == 300


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stripe_timeout_seconds", 80),
        ("stripe_timeout_seconds", 0),
        ("stripe_webhook_tolerance_seconds", 3600),
        ("stripe_webhook_max_future_seconds", 3600),
        ("stripe_replay_window_hours", 24),
    ],
)
def test_limits_stay_tight(field: str, value: float) -> None:
    with pytest.raises(ValidationError, match=field):
        BaseFirst(env=Environment.TEST, **{field: value})


def test_api_version_and_country_format() -> None:
    assert "STRIPE_API_VERSION: must look like" in refused(
        BaseFirst, Environment.TEST, stripe_api_version="latest"
    )
    assert "STRIPE_CONNECT_COUNTRY" in refused(
        BaseFirst, Environment.TEST, stripe_connect_country="usa"
    )
    assert "STRIPE_CONNECT_RETURN_URL" in refused(
        BaseFirst,
        Environment.PROD,
        **prod_ready(stripe_connect_return_url="http://app.nerava.app/return"),
    )
