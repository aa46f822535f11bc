"""``/readyz`` of a real service names the dependency that is down; ``/healthz`` stays up."""

from __future__ import annotations

import httpx
from asgi_lifespan import LifespanManager
from auth.main import create_app
from auth.settings import AuthSettings

from tests.fakes.twilio.config import (
    LOCAL_ACCOUNT_SID,
    LOCAL_AUTH_TOKEN,
    LOCAL_VERIFY_SERVICE_SID,
)
from tests.support.isolation import RunInfra


def _settings(infra: RunInfra, **overrides: object) -> AuthSettings:
    values: dict[str, object] = {
        "env": "test",
        "database_url": infra.database_url,
        "redis_url": infra.redis_url,
        "redis_key_prefix": infra.redis_prefix,
        "rabbitmq_url": infra.rabbitmq_url,
        "readiness_timeout_seconds": 0.5,
        "otp_provider": "twilio_verify",
        "twilio_account_sid": LOCAL_ACCOUNT_SID,
        "twilio_auth_token": LOCAL_AUTH_TOKEN,
        "twilio_verify_service_sid": LOCAL_VERIFY_SERVICE_SID,
        **overrides,
    }
    return AuthSettings(**values)  # type: ignore[arg-type]


async def _get(settings: AuthSettings, path: str) -> httpx.Response:
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            return await client.get(path)


async def test_ready_when_every_dependency_answers(infra: RunInfra) -> None:
    resp = await _get(_settings(infra), "/readyz")
    assert resp.status_code == 200, resp.text
    assert resp.json()["checks"]["postgres"]["status"] == "ok"
    assert resp.json()["checks"]["redis"]["status"] == "ok"


async def test_redis_down_makes_readyz_503_naming_redis(infra: RunInfra) -> None:
    settings = _settings(infra, redis_url="redis://127.0.0.1:1/0")
    resp = await _get(settings, "/readyz")
    assert resp.status_code == 503
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["code"] == "dependency_unavailable"
    assert body["unavailable"] == ["redis"]
    assert "redis" in body["detail"]
    assert body["checks"]["postgres"]["status"] == "ok"
    live = await _get(settings, "/healthz")
    assert live.status_code == 200
