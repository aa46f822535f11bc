"""The one entrypoint of the notifications service: ``create_app()`` and the lazily built ``app``.

Run with ``uvicorn notifications.main:create_app --factory``; importing this module builds nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from common.service import Infrastructure, create_service_app, lazy_app
from fastapi import FastAPI
from messaging.dead_letters.router import dead_letters_router

from notifications import api, bootstrap, consumers
from notifications.settings import NotificationsSettings


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    settings = settings or NotificationsSettings()
    phones = bootstrap.build_phone_vault(settings)

    @asynccontextmanager
    async def start(infra: Infrastructure) -> AsyncIterator[None]:
        async with bootstrap.running(settings, infra, phones, consumers.subscriptions) as deps:
            infra.app.state.deps = deps
            yield

    return create_service_app(
        settings,
        title="Nerava notifications",
        routers=[api.router, dead_letters_router()],
        start=start,
    )


__getattr__ = lazy_app(create_app)
