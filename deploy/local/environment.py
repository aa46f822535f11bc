"""The local-mode environment of each process `make run` starts: ports and settings.

Everything here is for ENV=local only: the fakes stand in for Twilio and Stripe, nothing needs
the internet or real credentials.
"""

from __future__ import annotations

import os

LOCAL_DATABASE = "nerava"
PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"
DATABASE_URL = f"{PG_SERVER}/{LOCAL_DATABASE}"
HOST = "127.0.0.1"

PORTS = {
    "gateway": 8000,
    "auth": 8001,
    "sessions": 8002,
    "notifications": 8003,
    "payments": 8004,
    "fake-twilio": 8010,
    "fake-stripe": 8011,
}

SERVICES_WITH_SCHEMA = ("auth", "sessions", "notifications", "payments")


def base_env() -> dict[str, str]:
    return {
        "ENV": "local",
        "LOG_JSON": "false",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "REDIS_KEY_PREFIX": "nerava-local",
        "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/",
    }


def service_env(service: str) -> dict[str, str]:
    """The full environment of one service process (inherits PATH and the like)."""
    env = {**os.environ, **base_env()}
    env["HTTP_HOST"] = HOST
    env["HTTP_PORT"] = str(PORTS[service])
    env.update(SERVICE_OVERRIDES.get(service, {}))
    return env


def upstream(service: str) -> str:
    return f"http://{HOST}:{PORTS[service]}"


FAKE_TWILIO = upstream("fake-twilio")
FAKE_STRIPE = upstream("fake-stripe")

SERVICE_OVERRIDES: dict[str, dict[str, str]] = {
    "gateway": {
        "UPSTREAM_AUTH": upstream("auth"),
        "UPSTREAM_SESSIONS": upstream("sessions"),
        "UPSTREAM_NOTIFICATIONS": upstream("notifications"),
        "UPSTREAM_PAYMENTS": upstream("payments"),
    },
    "auth": {
        "OTP_PROVIDER": "console",
        "TWILIO_API_BASE": FAKE_TWILIO,
    },
    "notifications": {"TWILIO_API_BASE": FAKE_TWILIO},
    "payments": {"STRIPE_API_BASE": FAKE_STRIPE},
}
