"""The environment of each process the local stack starts: ports and settings.

``make run`` uses the fixed ``LOCAL_PORTS``; the end-to-end tests use the same layout on
ephemeral ports and their own isolated database, vhost and Redis prefix. Everything here is
ENV=local/test only: the fakes stand in for Twilio and Stripe, nothing needs the internet or real
credentials.
"""

from __future__ import annotations

from collections.abc import Mapping

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


def url(ports: Mapping[str, int], name: str) -> str:
    """Where a process listens; empty when that process is not part of this stack."""
    return f"http://{HOST}:{ports[name]}" if name in ports else ""


def service_overrides(ports: Mapping[str, int]) -> dict[str, dict[str, str]]:
    """Per-process settings that depend on where the other processes listen."""
    twilio = url(ports, "fake-twilio")
    return {
        "gateway": {
            "UPSTREAM_AUTH": url(ports, "auth"),
            "UPSTREAM_SESSIONS": url(ports, "sessions"),
            "UPSTREAM_NOTIFICATIONS": url(ports, "notifications"),
            "UPSTREAM_PAYMENTS": url(ports, "payments"),
            "PUBLIC_BASE_URL": url(ports, "gateway"),
        },
        "auth": {"OTP_PROVIDER": "console", "TWILIO_API_BASE": twilio},
        "fake-twilio": {},
        "fake-stripe": {},
    }


def process_env(
    name: str, ports: Mapping[str, int], infrastructure: Mapping[str, str]
) -> dict[str, str]:
    """Settings of one process (added to the inherited environment by the supervisor)."""
    env = dict(infrastructure)
    env["HTTP_HOST"] = HOST
    env["HTTP_PORT"] = str(ports[name])
    env.update({k: v for k, v in service_overrides(ports).get(name, {}).items() if v})
    return env
