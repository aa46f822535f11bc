"""The one entrypoint of the notifications service: ``create_app()`` and the lazily built ``app``.

Run with ``uvicorn notifications.main:create_app --factory``; importing this module builds nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from common.app_factory import build_app
from common.service_app import lazy_app, open_service_infrastructure
from fastapi import FastAPI
from messaging.dead_letters.router import dead_letters_router

from notifications import tables
from notifications.settings import NotificationsSettings


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    settings = settings or NotificationsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_service_infrastructure(app, settings, tables.messaging):
            yield

    return build_app(
        settings, title="Nerava notifications", lifespan=lifespan, routers=[dead_letters_router()]
    )


__getattr__ = lazy_app(create_app)
