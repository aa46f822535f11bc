"""Builds a service's FastAPI app with the parts every service shares.

Request ids, problem+json handlers, ``/healthz``, ``/readyz``, ``/metrics``, JSON logging and
tracing. The service passes its own lifespan (which creates its clients and registers readiness
checks) and its routers.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from fastapi import APIRouter, FastAPI

from common.health import health_router
from common.logs import configure_logging
from common.metrics import install_metrics
from common.problem import install_problem_handlers
from common.request_context import RequestIdMiddleware
from common.settings import ServiceSettings
from common.telemetry import fastapi_telemetry, setup_tracing


class Lifespan(Protocol):
    def __call__(self, app: FastAPI) -> AbstractAsyncContextManager[None]: ...


def build_app(
    settings: ServiceSettings,
    *,
    title: str,
    lifespan: Lifespan | None = None,
    routers: Sequence[APIRouter] = (),
    **fastapi_options: Any,
) -> FastAPI:
    configure_logging(
        settings.service_name, level=settings.log_level, json_output=settings.log_json
    )
    setup_tracing(settings.service_name, settings.otlp_endpoint)
    app = FastAPI(
        title=title,
        version=settings.service_version,
        lifespan=lifespan,
        telemetry=fastapi_telemetry(),
        **fastapi_options,
    )
    app.state.settings = settings
    install_problem_handlers(app)
    install_metrics(app)
    app.include_router(health_router(timeout=settings.readiness_timeout_seconds))
    for router in routers:
        app.include_router(router)
    app.add_middleware(RequestIdMiddleware)
    return app
