"""The one entrypoint of the gateway service: ``create_app()`` and the lazily built ``app``.

Run with ``uvicorn gateway.main:create_app --factory``; importing this module builds nothing.

The ASGI app returned is :class:`gateway.proxy.GatewayProxy`: it forwards ``/v1/...`` on a lean
path of its own and hands everything else (lifespan, ``/healthz``, ``/readyz``, ``/metrics``,
``/docs``, ``/openapi.json``) to a FastAPI app built like every service's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import aiohttp
from common.health import register_readiness_check
from common.jwks import HttpJwks
from common.jwt_verification import JwtVerifier
from common.redis_client import KeySpace
from common.redis_pipelined import PipelinedRedis
from common.service import Infrastructure, create_service_app, lazy_app
from opentelemetry import trace

from gateway.edge_auth import EdgeAuthenticator, RevocationCache
from gateway.forwarding import Forwarder
from gateway.limits import EdgeRateLimits
from gateway.openapi_aggregate import OpenApiAggregator, docs_router
from gateway.proxy import GatewayProxy
from gateway.proxy_metrics import ProxyMetrics
from gateway.rate_limit import RateLimiter
from gateway.routes import RouteTable
from gateway.settings import GatewaySettings
from gateway.upstream_health import upstreams_check
from gateway.upstreams import Upstreams


def create_app(settings: GatewaySettings | None = None) -> GatewayProxy:
    settings = settings or GatewaySettings()
    routes = RouteTable(settings.routes)
    proxy: GatewayProxy

    @asynccontextmanager
    async def start(infra: Infrastructure) -> AsyncIterator[None]:
        app = infra.app
        async with AsyncExitStack() as stack:
            keys = KeySpace(settings.redis_key_prefix)
            fast_redis = PipelinedRedis(settings.redis_url, timeout=settings.redis_timeout_seconds)
            stack.push_async_callback(fast_redis.aclose)

            upstreams = Upstreams(settings)
            upstreams.start()
            stack.push_async_callback(upstreams.close)
            register_readiness_check(
                app,
                "upstreams",
                upstreams_check(
                    upstreams,
                    required=settings.readiness_requires_upstreams,
                    timeout=settings.readiness_timeout_seconds * 0.8,
                ),
            )
            proxy.forwarder = Forwarder(
                upstreams,
                max_body=settings.max_body_bytes,
                public_base_url=settings.effective_public_base_url(),
                tracer=trace.get_tracer("gateway") if settings.otlp_endpoint else None,
            )
            proxy.authenticator = await _open_authenticator(stack, settings, fast_redis, keys)
            if settings.rate_limit_enabled:
                proxy.limits = EdgeRateLimits(
                    RateLimiter(fast_redis, keys),
                    {str(k): v for k, v in settings.rate_limits.items()},
                )
            app.state.openapi_aggregator = OpenApiAggregator(
                upstreams,
                routes,
                title="Nerava API",
                version=settings.service_version,
                cache_seconds=settings.openapi_cache_seconds,
            )
            yield

    app = create_service_app(
        settings,
        title="Nerava gateway",
        routers=[docs_router()],
        start=start,
        jwks_verifier=False,  # the edge authenticator below verifies with its own caches
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    proxy = GatewayProxy(
        settings,
        routes=routes,
        fallback=app,
        metrics=ProxyMetrics(app.state.metrics_registry),
    )
    return proxy


async def _open_authenticator(
    stack: AsyncExitStack, settings: GatewaySettings, redis: PipelinedRedis, keys: KeySpace
) -> EdgeAuthenticator | None:
    jwks_url = settings.effective_jwks_url()
    if jwks_url is None:
        return None
    session = await stack.enter_async_context(
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=settings.jwks_timeout_seconds))
    )
    verifier = JwtVerifier(
        HttpJwks(
            jwks_url,
            session,
            cache_seconds=settings.jwks_cache_seconds,
            min_refetch_seconds=settings.jwks_min_refetch_seconds,
            timeout_seconds=settings.jwks_timeout_seconds,
        ),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        leeway_seconds=settings.jwt_leeway_seconds,
    )
    revocations = RevocationCache(
        redis,
        keys,
        cache_seconds=settings.revocation_cache_seconds,
        size=settings.token_cache_size,
    )
    return EdgeAuthenticator(
        verifier,
        revocations,
        cache_seconds=settings.token_cache_seconds,
        cache_size=settings.token_cache_size,
    )


__getattr__ = lazy_app(create_app)
