"""What every schema-owning service starts with: its settings base, its lifespan, its lazy app.

A service that owns a Postgres schema, uses Redis and RabbitMQ and verifies access tokens opens
all of it with :func:`open_service_infrastructure` (in that order, closed in reverse), and exposes
``app`` from its ``main`` module with :func:`lazy_app` so importing the module builds nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from messaging.lifecycle import Messaging, open_messaging
from messaging.settings import MessagingSettings
from messaging.subscriber import Subscriptions
from messaging.tables import MessagingTables

from common.auth_dependencies import open_jwt_verifier
from common.infrastructure import open_cache, open_database
from common.jwt_settings import JwtVerificationSettings
from common.settings import DatabaseSettings, RedisSettings, ServiceSettings


class ConnectedServiceSettings(
    ServiceSettings,
    DatabaseSettings,
    RedisSettings,
    MessagingSettings,
    JwtVerificationSettings,
):
    """Settings of a service with its own schema, Redis, RabbitMQ and token verification."""


@asynccontextmanager
async def open_service_infrastructure(
    app: FastAPI,
    settings: ConnectedServiceSettings,
    messaging_tables: MessagingTables,
    subscriptions: Subscriptions | None = None,
) -> AsyncIterator[Messaging]:
    """Postgres, Redis, the JWT verifier and messaging, each with its readiness check."""
    async with open_database(app, settings) as database, open_cache(app, settings) as cache:
        app.state.database = database
        app.state.cache = cache
        async with (
            open_jwt_verifier(app, settings, cache),
            open_messaging(app, settings, database, messaging_tables, subscriptions) as messaging,
        ):
            yield messaging


def lazy_app(create_app: Callable[[], FastAPI]) -> Callable[[str], FastAPI]:
    """A module ``__getattr__`` that builds ``app`` from the environment on first access."""
    built: list[FastAPI] = []

    def module_getattr(name: str) -> FastAPI:
        if name != "app":
            raise AttributeError(name)
        if not built:
            built.append(create_app())
        return built[0]

    return module_getattr
