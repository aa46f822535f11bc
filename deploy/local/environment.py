"""The environment of each process the local stack starts: ports and settings.

``make run`` uses the fixed ``LOCAL_PORTS``; the end-to-end tests use the same layout on
ephemeral ports and their own isolated database, vhost and Redis prefix. Everything here is
ENV=local/test only: the fakes stand in for Twilio and Stripe, nothing needs the internet or real
credentials.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from pathlib import Path

LOCAL_DATABASE = "nerava"
PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"
DATABASE_URL = f"{PG_SERVER}/{LOCAL_DATABASE}"
HOST = "127.0.0.1"

SERVICES = ("auth", "sessions", "notifications", "payments", "gateway")
FAKES = ("fake-twilio", "fake-stripe")
SERVICES_WITH_SCHEMA = ("auth", "sessions", "notifications", "payments")

LOCAL_PORTS: Mapping[str, int] = {
    "gateway": 8000,
    "auth": 8001,
    "sessions": 8002,
    "notifications": 8003,
    "payments": 8004,
    "fake-twilio": 8010,
    "fake-stripe": 8011,
}


def local_infrastructure() -> dict[str, str]:
    """Connection settings of `make run` (the machine's local servers, default vhost)."""
    return {
        "ENV": "local",
        "LOG_JSON": "false",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "REDIS_KEY_PREFIX": "nerava-local",
        "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/",
    }


# The fake Twilio's account (tests/fakes/twilio/config.py defaults).
FAKE_TWILIO_ACCOUNT = {
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 31 + "1",
    "TWILIO_API_KEY_SID": "SK" + "0" * 31 + "1",
    "TWILIO_API_KEY_SECRET": "local-fake-twilio-api-key-secret-1",
    "TWILIO_VERIFY_SERVICE_SID": "VA" + "0" * 31 + "1",
}
# The fake Twilio's Messaging account (tests/fakes/twilio/config.py defaults): the auth token
# also signs the fake's webhooks, as Twilio's does.
FAKE_TWILIO_MESSAGING = {
    "TWILIO_ACCOUNT_SID": FAKE_TWILIO_ACCOUNT["TWILIO_ACCOUNT_SID"],
    "TWILIO_AUTH_TOKEN": "local-fake-twilio-auth-token-0001",
    "TWILIO_MESSAGING_SERVICE_SID": "MG" + "0" * 31 + "1",
}
# The fake Stripe's account (tests/fakes/stripe/config.py defaults).
FAKE_STRIPE_API_KEY = "sk_test_local"
FAKE_STRIPE_WEBHOOK_SECRET = "whsec_local_fake_stripe_webhook_secret_0001"
LOCAL_SECRETS = Path(__file__).resolve().parent / ".secrets"
KEYED_SERVICES = ("auth", "sessions", "notifications")
"""The services that encrypt phone numbers (and auth, that signs tokens): their keys must
outlive a process, or what one process stored the next cannot read."""


def generate_phone_keys() -> dict[str, str]:
    """Fresh phone keys: an AES-256-GCM key (one id, for rotation) and an HMAC lookup key, in
    the format every service that stores phones reads."""
    from auth.phone_crypto import generate_key_material

    return {
        "PHONE_LOOKUP_KEY": secrets.token_urlsafe(48),
        "PHONE_ENCRYPTION_KEYS": json.dumps({"local-1": generate_key_material()}),
        "PHONE_ENCRYPTION_ACTIVE_KEY_ID": "local-1",
    }


def generate_service_keys(service: str) -> dict[str, str]:
    """A fresh set of one service's keys: auth's signing keys and pepper, and the phone keys of
    auth, sessions and notifications; nothing for the others."""
    if service not in KEYED_SERVICES:
        return {}
    keys = generate_phone_keys()
    if service == "auth":
        from auth.signing_keys import generate_keyset_config

        signing_keys, kid = generate_keyset_config()
        keys.update(
            JWT_SIGNING_KEYS=signing_keys,
            JWT_ACTIVE_KID=kid,
            REFRESH_TOKEN_PEPPER=secrets.token_urlsafe(48),
        )
    return keys


def local_keys(service: str, directory: Path = LOCAL_SECRETS) -> dict[str, str]:
    """A service's keys for ``make run``: generated once, kept (git-ignored) across restarts.

    Kept, not regenerated per process: phone numbers encrypted and refresh tokens issued
    before a restart must still work after it.
    """
    path = directory / f"{service}.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    keys = generate_service_keys(service)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keys))
    path.chmod(0o600)
    return keys


OTP_PROVIDERS = ("console", "twilio_verify")


def auth_overrides(
    ports: Mapping[str, int], env: str, otp_provider: str | None = None
) -> dict[str, str]:
    """``make run`` (ENV=local): codes on the auth terminal (console provider), kept keys;
    ``make run OTP_PROVIDER=twilio_verify``: the real Twilio SDK against the local fake Twilio
    (codes and fault knobs on its admin API). End-to-end tests (ENV=test): the fake Twilio,
    per-process keys."""
    if otp_provider is not None and otp_provider not in OTP_PROVIDERS:
        raise ValueError(f"OTP_PROVIDER must be one of {', '.join(OTP_PROVIDERS)}")
    overrides = {"TWILIO_API_BASE": url(ports, "fake-twilio"), **FAKE_TWILIO_ACCOUNT}
    if env == "local":
        overrides["OTP_PROVIDER"] = otp_provider or "console"
        overrides.update(local_keys("auth"))
    else:
        overrides["OTP_PROVIDER"] = "twilio_verify"
    return overrides


def notifications_overrides(ports: Mapping[str, int]) -> dict[str, str]:
    """The real Twilio SDK against the fake Twilio; callbacks and signatures under the gateway."""
    return {
        "SMS_SENDER": "twilio",
        "TWILIO_API_BASE": url(ports, "fake-twilio"),
        "PUBLIC_BASE_URL": url(ports, "gateway"),
        **FAKE_TWILIO_MESSAGING,
    }


def payments_overrides(ports: Mapping[str, int]) -> dict[str, str]:
    """The real Stripe SDK against the fake Stripe: its URL, test key and signing secret."""
    return {
        "STRIPE_API_BASE": url(ports, "fake-stripe"),
        "STRIPE_SECRET_KEY": FAKE_STRIPE_API_KEY,
        "STRIPE_WEBHOOK_SECRETS": json.dumps([FAKE_STRIPE_WEBHOOK_SECRET]),
    }


def url(ports: Mapping[str, int], name: str) -> str:
    """Where a process listens; empty when that process is not part of this stack."""
    return f"http://{HOST}:{ports[name]}" if name in ports else ""


def fake_arguments(name: str, ports: Mapping[str, int]) -> list[str]:
    """Command-line options of a fake: the fake Stripe delivers its events to the gateway's
    webhook route, signed with the secret payments lists, as Stripe would."""
    if name == "fake-stripe" and "gateway" in ports:
        return ["--webhook-url", url(ports, "gateway") + "/v1/webhooks/stripe"]
    return []


def service_overrides(
    ports: Mapping[str, int], env: str = "local", otp_provider: str | None = None
) -> dict[str, dict[str, str]]:
    """Per-process settings that depend on where the other processes listen."""
    jwks = url(ports, "auth") + "/v1/auth/jwks.json" if "auth" in ports else ""
    overrides = {
        "gateway": {
            "UPSTREAM_AUTH": url(ports, "auth"),
            "UPSTREAM_SESSIONS": url(ports, "sessions"),
            "UPSTREAM_NOTIFICATIONS": url(ports, "notifications"),
            "UPSTREAM_PAYMENTS": url(ports, "payments"),
            "PUBLIC_BASE_URL": url(ports, "gateway"),
        },
        "auth": auth_overrides(ports, env, otp_provider),
        "notifications": notifications_overrides(ports) if "fake-twilio" in ports else {},
        "payments": payments_overrides(ports),
        "fake-twilio": {},
        "fake-stripe": {},
    }
    for name in SERVICES:
        if name != "auth":
            overrides.setdefault(name, {})["JWKS_URL"] = jwks
    if env == "local":  # kept keys; a test stack brings its own (tests.support.system_stack)
        for name in ("sessions", "notifications"):
            overrides[name].update(local_keys(name))
    return overrides


def process_env(
    name: str,
    ports: Mapping[str, int],
    infrastructure: Mapping[str, str],
    otp_provider: str | None = None,
) -> dict[str, str]:
    """Settings of one process (added to the inherited environment by the supervisor)."""
    env = dict(infrastructure)
    env["HTTP_HOST"] = HOST
    env["HTTP_PORT"] = str(ports[name])
    overrides = service_overrides(ports, infrastructure.get("ENV", "local"), otp_provider)
    env.update({k: v for k, v in overrides.get(name, {}).items() if v})
    return env
