"""The one entrypoint of the payments service: ``create_app()`` and the lazily built ``app``.

Run with ``uvicorn payments.main:create_app --factory``; importing this module builds nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from common.service import Infrastructure, create_service_app, lazy_app
from fastapi import FastAPI
from messaging.dead_letters.router import dead_letters_router

from payments import (
    admin_api,
    api,
    billing_api,
    bootstrap,
    consumers,
    payout_admin_api,
    payout_api,
    webhook_api,
)
from payments.settings import PaymentsSettings


def create_app(settings: PaymentsSettings | None = None) -> FastAPI:
    settings = settings or PaymentsSettings()

    @asynccontextmanager
    async def start(infra: Infrastructure) -> AsyncIterator[None]:
        async with bootstrap.running(settings, infra, consumers.subscriptions) as deps:
            infra.app.state.deps = deps
            yield

    return create_service_app(
        settings,
        title="Nerava payments",
        routers=[
            api.router,
            payout_api.router,
            admin_api.router,
            billing_api.router,
            payout_admin_api.router,
            webhook_api.router,
            dead_letters_router(),
        ],
        start=start,
    )


__getattr__ = lazy_app(create_app)
