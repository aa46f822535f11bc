from __future__ import annotations

import pytest
from common.settings import Environment, ServiceSettings, UnsafeSettingsError
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
