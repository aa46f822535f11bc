"""The one entrypoint of the sessions service: ``create_app()`` and the lazily built ``app``.

Run with ``uvicorn sessions.main:create_app --factory``; importing this module builds nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from common.app_factory import build_app
from common.auth_dependencies import open_jwt_verifier
from common.infrastructure import open_cache, open_database
from common.messaging.dead_letters.router import dead_letters_router
from common.messaging.lifecycle import open_messaging
from fastapi import FastAPI

from sessions import tables
from sessions.settings import SessionsSettings


def create_app(settings: SessionsSettings | None = None) -> FastAPI:
    settings = settings or SessionsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_database(app, settings) as database, open_cache(app, settings) as cache:
            app.state.database = database
            app.state.cache = cache
            async with (
                open_jwt_verifier(app, settings, cache),
                open_messaging(app, settings, database, tables.messaging),
            ):
                yield

    return build_app(
        settings, title="Nerava sessions", lifespan=lifespan, routers=[dead_letters_router()]
    )


_app: FastAPI | None = None


def __getattr__(name: str) -> FastAPI:
    """``sessions.main.app`` builds the app from the environment on first access."""
    global _app
    if name != "app":
        raise AttributeError(name)
    if _app is None:
        _app = create_app()
    return _app
