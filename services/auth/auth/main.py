"""The one entrypoint of the auth service: ``create_app()`` and the lazily built ``app``.

Run with ``uvicorn auth.main:create_app --factory``; importing this module builds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from common.periodic import run_periodic_jobs
from common.service import Infrastructure, create_service_app, lazy_app
from fastapi import FastAPI
from messaging.dead_letters.router import dead_letters_router

from auth import bootstrap, jobs
from auth.api import router
from auth.settings import AuthSettings

logger = logging.getLogger("auth.main")


def create_app(settings: AuthSettings | None = None) -> FastAPI:
    settings = settings or AuthSettings()
    keys = bootstrap.load_key_material(settings)

    @asynccontextmanager
    async def start(infra: Infrastructure) -> AsyncIterator[None]:
        async with bootstrap.running(settings, infra, keys) as deps:
            infra.app.state.deps = deps
            _log_startup(settings, keys.keyset.active.kid, keys.generated)
            registry = infra.app.state.metrics_registry
            async with run_periodic_jobs(infra.app, jobs.periodic_jobs(deps, registry)):
                yield

    return create_service_app(
        settings,
        title="Nerava auth",
        routers=[router, dead_letters_router()],
        start=start,
        jwks_verifier=False,  # auth verifies with its own keys (bootstrap installs them)
    )


def _log_startup(settings: AuthSettings, active_kid: str, generated: list[str]) -> None:
    provider = settings.otp_provider.value if settings.otp_provider else None
    logger.info(
        "otp provider active: %s",
        provider,
        extra={
            "otp_provider": provider,
            "verify_service_sid_prefix": (settings.twilio_verify_service_sid or "")[:6] or None,
            "twilio_api_base_overridden": bool(settings.twilio_api_base),
            "active_kid": active_kid,
        },
    )
    if generated:
        logger.warning(
            "generated per-process keys (ENV=%s only): %s",
            settings.env.value,
            ", ".join(generated),
        )


__getattr__ = lazy_app(create_app)
