"""Production startup matrix: each unsafe setting alone stops a real auth process, named."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys

import pytest
from auth.phone_crypto import generate_key_material
from auth.settings import AuthSettings
from auth.signing_keys import generate_keyset_config
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

_KEYS, _KID = generate_keyset_config("prod-2026-11")
_RSA_PEM = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    .decode()
)

_PREVIOUS = secrets.token_urlsafe(48)

SAFE_PROD = {
    "ENV": "prod",
    "OTLP_ENDPOINT": "http://otel-collector:4318",
    "DATABASE_URL": "postgresql+asyncpg://auth:pw@db.internal:5432/nerava",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "RABBITMQ_URL": "amqp://auth:pw@rabbit.internal:5672/",
    "OTP_PROVIDER": "twilio_verify",
    "TWILIO_ACCOUNT_SID": "AC" + "a1" * 16,
    "TWILIO_API_KEY_SID": "SK" + "b2" * 16,
    "TWILIO_API_KEY_SECRET": secrets.token_urlsafe(32),
    "TWILIO_VERIFY_SERVICE_SID": "VA" + "c3" * 16,
    "JWT_SIGNING_KEYS": _KEYS,
    "JWT_ACTIVE_KID": _KID,
    "REFRESH_TOKEN_PEPPER": secrets.token_urlsafe(48),
    "PHONE_LOOKUP_KEY": secrets.token_urlsafe(48),
    "PHONE_ENCRYPTION_KEYS": json.dumps({"2026-11": generate_key_material()}),
    "PHONE_ENCRYPTION_ACTIVE_KEY_ID": "2026-11",
}

UNSAFE = {
    "provider unset": ({"OTP_PROVIDER": None}, "OTP_PROVIDER"),
    "console provider": ({"OTP_PROVIDER": "console"}, "OTP_PROVIDER=console"),
    "no account sid": ({"TWILIO_ACCOUNT_SID": None}, "TWILIO_ACCOUNT_SID"),
    "malformed account sid": ({"TWILIO_ACCOUNT_SID": "AC123"}, "TWILIO_ACCOUNT_SID"),
    "no verify sid": ({"TWILIO_VERIFY_SERVICE_SID": None}, "TWILIO_VERIFY_SERVICE_SID"),
    "no credentials": ({"TWILIO_API_KEY_SECRET": None}, "credentials are required"),
    "sdk pointed at a fake": ({"TWILIO_API_BASE": "http://127.0.0.1:8010"}, "TWILIO_API_BASE"),
    "no signing keys": ({"JWT_SIGNING_KEYS": None}, "JWT_SIGNING_KEYS"),
    "rsa signing key": (
        {"JWT_SIGNING_KEYS": json.dumps([{"kid": _KID, "pem": _RSA_PEM}])},
        "only Ed25519 or P-256",
    ),
    "hmac signing key": (
        {"JWT_SIGNING_KEYS": json.dumps([{"kid": _KID, "kty": "oct", "k": "c2VjcmV0"}])},
        "JWT_SIGNING_KEYS",
    ),
    "active kid not in keyset": ({"JWT_ACTIVE_KID": "nope"}, "JWT_SIGNING_KEYS"),
    "no pepper": ({"REFRESH_TOKEN_PEPPER": None}, "REFRESH_TOKEN_PEPPER"),
    "weak pepper": ({"REFRESH_TOKEN_PEPPER": "password1234"}, "REFRESH_TOKEN_PEPPER"),
    "pepper is the database url": (
        {"REFRESH_TOKEN_PEPPER": SAFE_PROD["DATABASE_URL"]},
        "REFRESH_TOKEN_PEPPER",
    ),
    "no phone lookup key": ({"PHONE_LOOKUP_KEY": None}, "PHONE_LOOKUP_KEY"),
    "weak previous pepper": (
        {"REFRESH_TOKEN_PEPPERS_PREVIOUS": json.dumps([_PREVIOUS, "password1234"])},
        "REFRESH_TOKEN_PEPPERS_PREVIOUS[1]: must be at least 32 bytes",
    ),
    "previous pepper is the current one": (
        {"REFRESH_TOKEN_PEPPERS_PREVIOUS": json.dumps([SAFE_PROD["REFRESH_TOKEN_PEPPER"]])},
        "REFRESH_TOKEN_PEPPERS_PREVIOUS[0]: must differ from REFRESH_TOKEN_PEPPER",
    ),
    "previous lookup key is a pattern": (
        {"PHONE_LOOKUP_KEYS_PREVIOUS": json.dumps(["ab" * 20])},
        "PHONE_LOOKUP_KEYS_PREVIOUS[0]: looks like a password",
    ),
    "previous lookup key is the pepper": (
        {"PHONE_LOOKUP_KEYS_PREVIOUS": json.dumps([SAFE_PROD["REFRESH_TOKEN_PEPPER"]])},
        "PHONE_LOOKUP_KEYS_PREVIOUS[0]: must differ from REFRESH_TOKEN_PEPPER",
    ),
    "no phone encryption keys": ({"PHONE_ENCRYPTION_KEYS": None}, "PHONE_ENCRYPTION_KEYS"),
    "short phone encryption key": (
        {"PHONE_ENCRYPTION_KEYS": json.dumps({"2026-11": "c2hvcnQta2V5LTE2Ynl0ZQ"})},
        "PHONE_ENCRYPTION_KEYS",
    ),
    "no otlp endpoint": ({"OTLP_ENDPOINT": None}, "OTLP_ENDPOINT"),
}

_PROCESSES = asyncio.Semaphore(4)


async def _start(env: dict[str, str]) -> tuple[int, str]:
    async with _PROCESSES:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "uvicorn",
            "auth.main:create_app",
            "--factory",
            "--port",
            "0",
            env={"PATH": os.environ.get("PATH", ""), **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


def test_the_safe_baseline_is_accepted() -> None:
    values = {k.lower(): v for k, v in SAFE_PROD.items()}
    settings = AuthSettings(**values)
    assert settings.unsafe_settings() == []


def test_strong_distinct_previous_values_are_accepted() -> None:
    values: dict[str, object] = {k.lower(): v for k, v in SAFE_PROD.items()}
    values["refresh_token_peppers_previous"] = [_PREVIOUS]
    values["phone_lookup_keys_previous"] = [secrets.token_urlsafe(48)]
    assert AuthSettings(**values).unsafe_settings() == []


@pytest.mark.parametrize("case", sorted(UNSAFE))
async def test_each_unsafe_setting_alone_refuses_to_start(case: str) -> None:
    change, expected = UNSAFE[case]
    env = {**SAFE_PROD, **{k: v for k, v in change.items() if v is not None}}
    for key, value in change.items():
        if value is None:
            env.pop(key)
    code, out = await _start(env)
    assert code != 0, out[-2000:]
    assert "refusing to start with ENV=prod" in out, out[-2000:]
    assert expected in out, out[-2000:]
    for secret in ("TWILIO_API_KEY_SECRET", "REFRESH_TOKEN_PEPPER", "PHONE_LOOKUP_KEY"):
        value = SAFE_PROD[secret]
        assert value not in out or change.get(secret) == value


@pytest.mark.parametrize("env_name", ["test", "staging"])
async def test_console_provider_is_refused_outside_local(env_name: str) -> None:
    env = {**SAFE_PROD, "ENV": env_name, "OTP_PROVIDER": "console"}
    code, out = await _start(env)
    assert code != 0
    assert "OTP_PROVIDER=console" in out


async def test_missing_provider_is_refused_even_locally() -> None:
    code, out = await _start({"ENV": "local"})
    assert code != 0
    assert "OTP_PROVIDER: must be set explicitly" in out
