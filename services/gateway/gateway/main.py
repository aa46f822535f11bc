"""The one entrypoint of the gateway service: ``create_app()`` and the lazily built ``app``.

Run with ``uvicorn gateway.main:create_app --factory``; importing this module builds nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from common.app_factory import build_app
from common.infrastructure import open_cache
from fastapi import FastAPI

from gateway.settings import GatewaySettings


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_cache(app, settings) as cache:
            app.state.cache = cache
            yield

    return build_app(settings, title="Nerava gateway", lifespan=lifespan)


_app: FastAPI | None = None


def __getattr__(name: str) -> FastAPI:
    """``gateway.main.app`` builds the app from the environment on first access."""
    global _app
    if name != "app":
        raise AttributeError(name)
    if _app is None:
        _app = create_app()
    return _app
