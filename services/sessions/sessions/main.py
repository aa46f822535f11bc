"""The one entrypoint of the sessions service: ``create_app()`` and the lazily built ``app``.

Run with ``uvicorn sessions.main:create_app --factory``; importing this module builds nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from common.app_factory import build_app
from common.service_app import lazy_app, open_service_infrastructure
from fastapi import FastAPI
from messaging.dead_letters.router import dead_letters_router

from sessions import tables
from sessions.settings import SessionsSettings


def create_app(settings: SessionsSettings | None = None) -> FastAPI:
    settings = settings or SessionsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_service_infrastructure(app, settings, tables.messaging):
            yield

    return build_app(
        settings, title="Nerava sessions", lifespan=lifespan, routers=[dead_letters_router()]
    )


__getattr__ = lazy_app(create_app)
