"""The one entrypoint of the sessions service: ``create_app()`` and the lazily built ``app``.

Run with ``uvicorn sessions.main:create_app --factory``; importing this module builds nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from common.service import Infrastructure, create_service_app, lazy_app
from fastapi import FastAPI
from messaging.dead_letters.router import dead_letters_router

from sessions import bootstrap
from sessions.api import routers
from sessions.settings import SessionsSettings


def create_app(settings: SessionsSettings | None = None, **overrides: Any) -> FastAPI:
    """``overrides`` replace parts of the deps (``bootstrap.build_deps``; tests only)."""
    settings = settings or SessionsSettings()

    @asynccontextmanager
    async def start(infra: Infrastructure) -> AsyncIterator[None]:
        async with bootstrap.running(settings, infra, **overrides) as deps:
            infra.app.state.deps = deps
            yield

    return create_service_app(
        settings,
        title="Nerava sessions",
        routers=[*routers(), dead_letters_router()],
        start=start,
    )


__getattr__ = lazy_app(create_app)
