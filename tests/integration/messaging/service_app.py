"""A real service app (``create_service_app`` + ``open_messaging`` + the dead-letters router)
for a fictional ``demo`` service whose schema is the test's private one."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from common.auth_dependencies import install_jwt_verifier
from common.jwks import StaticJwks
from common.jwt_verification import JwtVerifier
from common.service import Infrastructure, create_service_app
from common.settings import DatabaseSettings, ServiceSettings
from fastapi import FastAPI
from messaging.dead_letters.router import dead_letters_router
from messaging.lifecycle import open_messaging
from messaging.settings import MessagingSettings
from messaging.subscriber import Subscriptions

from tests.integration.messaging.harness import TEST_TIERS
from tests.support.isolation import RunInfra
from tests.support.jwt_tokens import AUDIENCE, ISSUER, TestSigningKeys
from tests.support.messaging_store import Store


class DemoSettings(ServiceSettings, DatabaseSettings, MessagingSettings):
    service_name: str = "demo"


def demo_settings(infra: RunInfra, store: Store, **overrides: Any) -> DemoSettings:
    values: dict[str, Any] = {
        "env": "test",
        "log_json": False,
        "database_url": infra.database_url,
        "db_schema": store.schema,
        "rabbitmq_url": infra.rabbitmq_url,
        "retry_tiers": TEST_TIERS,
        "retry_default_schedule": TEST_TIERS,
        "graceful_timeout_seconds": 10,
        "outbox_poll_seconds": 0.5,
        "readiness_timeout_seconds": 5,
        **overrides,
    }
    return DemoSettings(**values)


def demo_app(
    settings: DemoSettings,
    store: Store,
    subscriptions: Subscriptions[None],
    keys: TestSigningKeys | None = None,
) -> FastAPI:
    @contextlib.asynccontextmanager
    async def start(infra: Infrastructure) -> AsyncIterator[None]:
        async with open_messaging(infra.app, settings, infra.database, store.tables, subscriptions):
            yield

    app = create_service_app(settings, title="demo", routers=[dead_letters_router()], start=start)
    if keys is not None:
        install_jwt_verifier(
            app, JwtVerifier(StaticJwks(keys.jwks()), issuer=ISSUER, audience=AUDIENCE)
        )
    return app


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
            yield client
