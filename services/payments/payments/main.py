"""The one entrypoint of the payments service: ``create_app()`` and the lazily built ``app``.

Run with ``uvicorn payments.main:create_app --factory``; importing this module builds nothing.
The lifespan opens Postgres, Redis, the JWT verifier and messaging (consumers, outbox relay,
dead letters with the kill-switch replay guard), then the background jobs.
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

from payments import admin_api, api, consumers, tables
from payments.bootstrap import build_deps
from payments.jobs import payment_jobs, running_jobs
from payments.replay_guard import money_replay_guard
from payments.settings import PaymentsSettings


def create_app(settings: PaymentsSettings | None = None) -> FastAPI:
    settings = settings or PaymentsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_database(app, settings) as database, open_cache(app, settings) as cache:
            app.state.database = database
            app.state.cache = cache
            deps = build_deps(settings, database)
            app.state.payments = deps
            async with (
                open_jwt_verifier(app, settings, cache),
                open_messaging(
                    app,
                    settings,
                    database,
                    tables.messaging,
                    consumers.subscriptions,
                    replay_guard=money_replay_guard(deps.kill_switches),
                ),
                running_jobs(payment_jobs(deps)),
            ):
                yield

    return build_app(
        settings,
        title="Nerava payments",
        lifespan=lifespan,
        routers=[api.router, admin_api.router, dead_letters_router()],
    )


__getattr__ = lazy_app(create_app)
