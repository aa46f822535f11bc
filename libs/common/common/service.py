"""The one way a service starts: its app, its lifespan and its settings base.

``create_service_app`` builds the FastAPI app with what every service shares (request ids,
problem+json handlers, ``/healthz``, ``/readyz``, ``/metrics``, JSON logging, tracing) and a
lifespan that opens, according to the settings mixins of the service's settings class, Postgres
(:class:`~common.database.Database`), Redis (:class:`~common.redis_client.Cache`) and a verifier
of access tokens with keys from auth's JWKS, each with its readiness check, and then runs the
service's own ``start`` hook: an async context manager over :class:`Infrastructure` where the
service builds its deps (``bootstrap.build_deps``), opens messaging and starts its jobs. On exit
everything closes in reverse order. A service's ``main.py``::

    def create_app(settings: SessionsSettings | None = None) -> FastAPI:
        settings = settings or SessionsSettings()

        @asynccontextmanager
        async def start(infra: Infrastructure) -> AsyncIterator[None]:
            deps = bootstrap.build_deps(settings, infra)
            infra.app.state.deps = deps
            async with (
                open_messaging(infra.app, settings, infra.database, tables.messaging,
                               consumers.subscriptions, deps=deps),
                run_periodic_jobs(infra.app, jobs.periodic_jobs(deps)),
            ):
                yield

        return create_service_app(settings, title="Nerava sessions",
                                  routers=[api.router, dead_letters_router()], start=start)

    __getattr__ = lazy_app(create_app)     # ``sessions.main.app``, built on first access
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI

from common.auth_dependencies import open_jwt_verifier
from common.database import Database, database_check, make_engine, make_session_factory
from common.errors import DependencyUnavailable
from common.gc_tuning import tune_gc
from common.health import health_router, register_readiness_check
from common.jwt_settings import JwtVerificationSettings
from common.logs import configure_logging
from common.metrics import install_metrics
from common.openapi_errors import install_problem_openapi
from common.problem import install_problem_handlers
from common.redis_client import Cache, KeySpace, make_redis, redis_check
from common.request_context import RequestIdMiddleware
from common.settings import DatabaseSettings, RedisSettings, ServiceSettings
from common.sql_spans import trace_statements
from common.telemetry import fastapi_telemetry, setup_tracing


class ConnectedServiceSettings(
    ServiceSettings, DatabaseSettings, RedisSettings, JwtVerificationSettings
):
    """Settings base of a service with its own schema, Redis and token verification. A service
    that uses messaging adds ``messaging.settings.MessagingSettings`` to its bases."""


@dataclass(frozen=True)
class Infrastructure:
    """What the shared lifespan opened, handed to the service's ``start`` hook."""

    app: FastAPI
    optional_database: Database | None
    optional_cache: Cache | None

    @property
    def database(self) -> Database:
        if self.optional_database is None:
            raise RuntimeError("this service's settings have no DatabaseSettings")
        return self.optional_database

    @property
    def cache(self) -> Cache:
        if self.optional_cache is None:
            raise RuntimeError("this service's settings have no RedisSettings")
        return self.optional_cache


StartHook = Callable[[Infrastructure], AbstractAsyncContextManager[object]]


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    routers: Sequence[APIRouter] = (),
    start: StartHook | None = None,
    jwks_verifier: bool = True,
    database_options: Mapping[str, Any] | None = None,
    **fastapi_options: Any,
) -> FastAPI:
    """``jwks_verifier=False`` for a service that installs its own verifier (auth signs the
    tokens; the gateway verifies at the edge); ``database_options`` override the engine's."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        mixins: Any = settings  # a service's class combines the bases: test each one
        async with AsyncExitStack() as stack:
            database = cache = None
            if isinstance(mixins, DatabaseSettings):
                database = await stack.enter_async_context(
                    open_database(app, mixins, **dict(database_options or {}))
                )
            if isinstance(mixins, RedisSettings):
                cache = await stack.enter_async_context(open_cache(app, mixins))
            if jwks_verifier and isinstance(mixins, JwtVerificationSettings):
                await stack.enter_async_context(open_jwt_verifier(app, mixins, cache))
            if start is not None:
                await stack.enter_async_context(start(Infrastructure(app, database, cache)))
            tune_gc(settings.gc_gen0_threshold)  # started: what is alive now lives on
            yield

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
    mixins: Any = settings  # a service's class combines the bases: test each one
    stores = isinstance(mixins, DatabaseSettings | RedisSettings)
    install_problem_openapi(app, every_operation=(DependencyUnavailable,) if stores else ())
    install_metrics(app)
    app.include_router(health_router(timeout=settings.readiness_timeout_seconds))
    for router in routers:
        app.include_router(router)
    app.add_middleware(RequestIdMiddleware)
    return app


@asynccontextmanager
async def open_database(
    app: FastAPI, settings: DatabaseSettings, **engine_options: Any
) -> AsyncIterator[Database]:
    """``engine_options`` override ``make_engine``'s, e.g. ``pool_pre_ping=False``."""
    engine = make_engine(settings, **engine_options)
    trace_statements(engine)
    register_readiness_check(app, "postgres", database_check(engine))
    try:
        yield Database(engine=engine, sessions=make_session_factory(engine))
    finally:
        await engine.dispose()


@asynccontextmanager
async def open_cache(app: FastAPI, settings: RedisSettings) -> AsyncIterator[Cache]:
    client = make_redis(settings)
    register_readiness_check(app, "redis", redis_check(client))
    try:
        yield Cache(client=client, keys=KeySpace(settings.redis_key_prefix))
    finally:
        await client.aclose()


def lazy_app(create_app: Callable[[], Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that builds ``app`` from the environment on first access, so
    importing ``main`` builds nothing."""
    built: list[Any] = []

    def module_getattr(name: str) -> Any:
        if name != "app":
            raise AttributeError(name)
        if not built:
            built.append(create_app())
        return built[0]

    return module_getattr
