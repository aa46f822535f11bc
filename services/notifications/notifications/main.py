"""The one entrypoint of the notifications service: ``create_app()`` and the lazily built ``app``.

Run with ``uvicorn notifications.main:create_app --factory``; importing this module builds nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from common.app_factory import build_app
from common.auth_dependencies import open_jwt_verifier
from common.infrastructure import open_cache, open_database
from common.service_app import lazy_app
from fastapi import FastAPI
from messaging.dead_letters.router import dead_letters_router
from messaging.lifecycle import open_messaging

from notifications import consumers, tables
from notifications.bootstrap import build_deps, build_phone_vault, build_sender
from notifications.settings import NotificationsSettings


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    settings = settings or NotificationsSettings()
    phones = build_phone_vault(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            open_database(app, settings) as database,
            open_cache(app, settings) as cache,
            open_jwt_verifier(app, settings, cache),
        ):
            app.state.database = database
            sender = build_sender(settings)
            try:
                app.state.notifications = build_deps(settings, database, sender, phones)
                async with open_messaging(
                    app, settings, database, tables.messaging, consumers.subscriptions
                ):
                    yield
            finally:
                await sender.close()

    return build_app(
        settings, title="Nerava notifications", lifespan=lifespan, routers=[dead_letters_router()]
    )


__getattr__ = lazy_app(create_app)
