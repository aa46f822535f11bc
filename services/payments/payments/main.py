"""The one entrypoint of the payments service: ``create_app()`` and the lazily built ``app``.

Run with ``uvicorn payments.main:create_app --factory``; importing this module builds nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from common.app_factory import build_app
from common.service_app import lazy_app, open_service_infrastructure
from fastapi import FastAPI
from messaging.dead_letters.router import dead_letters_router

from payments import tables
from payments.settings import PaymentsSettings


def create_app(settings: PaymentsSettings | None = None) -> FastAPI:
    settings = settings or PaymentsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_service_infrastructure(app, settings, tables.messaging):
            yield

    return build_app(
        settings, title="Nerava payments", lifespan=lifespan, routers=[dead_letters_router()]
    )


__getattr__ = lazy_app(create_app)
