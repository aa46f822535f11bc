"""The one entrypoint of the auth service: ``create_app()`` and the lazily built ``app``.

Run with ``uvicorn auth.main:create_app --factory``; importing this module builds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from common.auth_dependencies import install_jwt_verifier
from common.direct_sql import open_direct_pool
from common.redis_pipelined import PipelinedRedis
from common.service import Infrastructure, create_service_app, lazy_app
from fastapi import FastAPI
from messaging.dead_letters.router import dead_letters_router
from messaging.lifecycle import open_messaging

from auth import tables
from auth.api import router
from auth.bootstrap import (
    build_deps,
    build_provider,
    load_key_material,
    otp_limits,
    purge_config,
)
from auth.otp_state import OtpState
from auth.session_purge import PurgeMetrics, SessionPurger
from auth.settings import AuthSettings

logger = logging.getLogger("auth.main")


def create_app(settings: AuthSettings | None = None) -> FastAPI:
    settings = settings or AuthSettings()
    keys = load_key_material(settings)

    @asynccontextmanager
    async def start(infra: Infrastructure) -> AsyncIterator[None]:
        app, database, cache = infra.app, infra.database, infra.cache
        # The sign-in statement runs on the direct pool (common.direct_sql); the engine serves
        # everything else.
        async with open_direct_pool(settings) as direct:
            scripts = PipelinedRedis(settings.redis_url, timeout=settings.redis_timeout_seconds)
            otp = OtpState(cache.client, scripts, cache.keys, otp_limits(settings))
            provider = build_provider(settings, otp.record_provider_error)
            try:
                deps = build_deps(settings, database, direct, cache, keys, provider, otp)
                app.state.auth = deps
                install_jwt_verifier(app, deps.verifier)
                _log_startup(settings, keys.keyset.active.kid, keys.generated)
                purger = SessionPurger(
                    database, purge_config(settings), PurgeMetrics(app.state.metrics_registry)
                )
                app.state.session_purger = purger
                async with open_messaging(app, settings, database, tables.messaging):
                    if settings.session_purge_enabled:
                        await purger.start()
                    try:
                        yield
                    finally:
                        await purger.stop()
            finally:
                await provider.close()
                await scripts.aclose()

    return create_service_app(
        settings,
        title="Nerava auth",
        routers=[router, dead_letters_router()],
        start=start,
        jwks_verifier=False,  # auth verifies with its own keys (installed below)
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
