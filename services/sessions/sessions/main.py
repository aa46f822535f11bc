"""The one entrypoint of the sessions service: ``create_app()`` and the lazily built ``app``.

Run with ``uvicorn sessions.main:create_app --factory``; importing this module builds nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from common.app_factory import build_app
from common.auth_dependencies import open_jwt_verifier
from common.infrastructure import open_cache, open_database
from common.service_app import lazy_app
from fastapi import FastAPI
from messaging.dead_letters.router import dead_letters_router
from messaging.lifecycle import open_messaging

from sessions import consumers, tables
from sessions.api import routers
from sessions.bootstrap import build_deps
from sessions.jobs import run_housekeeping
from sessions.settings import SessionsSettings


def create_app(settings: SessionsSettings | None = None, **overrides: Any) -> FastAPI:
    """``overrides`` replace parts of the deps (tests: an outbox that fails, …)."""
    settings = settings or SessionsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_database(app, settings) as database, open_cache(app, settings) as cache:
            app.state.database = database
            app.state.cache = cache
            app.state.sessions = build_deps(
                settings, database, app.state.metrics_registry, **overrides
            )
            async with contextlib.AsyncExitStack() as stack:
                await stack.enter_async_context(open_jwt_verifier(app, settings, cache))
                await stack.enter_async_context(
                    open_messaging(
                        app, settings, database, tables.messaging, consumers.subscriptions
                    )
                )
                if settings.housekeeping_enabled:
                    await stack.enter_async_context(
                        run_housekeeping(
                            app.state.sessions,
                            interval_seconds=settings.housekeeping_interval_seconds,
                        )
                    )
                yield

    return build_app(
        settings,
        title="Nerava sessions",
        lifespan=lifespan,
        routers=[*routers(), dead_letters_router()],
    )


__getattr__ = lazy_app(create_app)
