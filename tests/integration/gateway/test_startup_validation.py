"""ENV=staging/prod refuses an unsafe gateway configuration, naming every problem."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import pytest
from common.settings import UnsafeSettingsError
from gateway.settings import DEFAULT_RATE_LIMITS, ClassLimits, GatewaySettings
from pydantic import ValidationError

SAFE: dict[str, Any] = {
    "otlp_endpoint": "http://otel:4318",
    "redis_url": "redis://redis:6379/0",
    "upstream_auth": "http://auth:8000",
    "upstream_sessions": "http://sessions:8000",
    "upstream_notifications": "http://notifications:8000",
    "upstream_payments": "http://payments:8000",
    "public_base_url": "https://api.nerava.app",
    "cors_allowed_origins": ("https://app.nerava.app",),
}


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_safe_configuration_starts(env: str) -> None:
    assert GatewaySettings(env=env, **SAFE).public_base_url == "https://api.nerava.app"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"upstream_payments": None}, "UPSTREAM_PAYMENTS"),
        ({"public_base_url": None}, "PUBLIC_BASE_URL"),
        ({"public_base_url": "http://api.nerava.app"}, "PUBLIC_BASE_URL"),
        ({"cors_allowed_origins": ()}, "CORS_ALLOWED_ORIGINS"),
        ({"cors_allowed_origins": ("http://app.nerava.app",)}, "CORS_ALLOWED_ORIGINS"),
        ({"cors_allowed_origins": ("*",)}, "CORS_ALLOWED_ORIGINS"),
        ({"rate_limit_enabled": False}, "RATE_LIMIT_ENABLED"),
        (
            {"rate_limits": {**DEFAULT_RATE_LIMITS, "money": ClassLimits(fail_open=True)}},
            "RATE_LIMITS",
        ),
    ],
)
def test_each_unsafe_setting_alone_is_refused(override: dict[str, Any], named: str) -> None:
    with pytest.raises((UnsafeSettingsError, ValidationError), match=named):
        GatewaySettings(env="prod", **{**SAFE, **override})  # type: ignore[arg-type]


async def test_gateway_process_refuses_to_start_and_names_the_settings() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "uvicorn",
        "gateway.main:create_app",
        "--factory",
        "--port",
        "0",
        env={"PATH": os.environ.get("PATH", ""), "ENV": "prod", "OTLP_ENDPOINT": "http://otel"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode != 0
    text = out.decode()
    for name in ("UPSTREAM_AUTH", "UPSTREAM_PAYMENTS", "PUBLIC_BASE_URL", "CORS_ALLOWED_ORIGINS"):
        assert name in text, name
