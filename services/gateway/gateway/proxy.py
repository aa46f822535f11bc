"""The forwarding path: a plain ASGI app in front of everything, no framework per request.

Requests under ``/v1/`` are answered here; anything else (``/healthz``, ``/readyz``,
``/metrics``, ``/docs``, ``/openapi.json``) falls through to the gateway's FastAPI app. The
steps, in order, each cheap: route lookup (dict probes), CORS preflight, read-only mode, body
size, edge authentication (cached claims), rate limits (one pipelined Redis round trip),
then one aiohttp request to the upstream with both bodies streamed.
"""

from __future__ import annotations

import logging
import re
import time
from random import getrandbits

from common.errors import AppError, TooManyRequests
from common.jwt_verification import InsufficientScopeError
from common.request_context import request_id_var
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.client_ip import ClientIpResolver
from gateway.cors import CorsPolicy
from gateway.edge_auth import EdgeAuthenticator
from gateway.forwarding import Forwarder
from gateway.headers import IncomingRequest, read_request_headers
from gateway.limits import EdgeRateLimits
from gateway.problems import (
    CorsOriginRefused,
    InvalidPath,
    MethodNotAllowed,
    ReadOnlyMode,
    not_found,
    payload_too_large,
    send_problem,
    upstream_unavailable,
)
from gateway.proxy_metrics import ProxyMetrics
from gateway.rate_limit import RateLimitResult
from gateway.routes import Route, RouteTable
from gateway.settings import GatewaySettings

logger = logging.getLogger(__name__)

_VALID_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_ADMIN_ROLE = "admin"


class GatewayProxy:
    """ASGI entrypoint: forwards ``/v1/...`` itself, hands everything else to ``fallback``."""

    def __init__(
        self,
        settings: GatewaySettings,
        *,
        routes: RouteTable,
        fallback: ASGIApp,
        metrics: ProxyMetrics,
    ) -> None:
        self.settings = settings
        self.routes = routes
        self.fallback = fallback
        self.metrics = metrics
        self.cors = CorsPolicy(
            settings.cors_allowed_origins,
            allow_credentials=settings.cors_allow_credentials,
            max_age_seconds=settings.cors_max_age_seconds,
        )
        self.client_ips = ClientIpResolver(settings.trusted_proxies)
        self.max_body = settings.max_body_bytes
        self.read_only = settings.emergency_readonly_mode
        # Set in the lifespan, once the clients exist.
        self.forwarder: Forwarder | None = None
        self.authenticator: EdgeAuthenticator | None = None
        self.limits: EdgeRateLimits | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.fallback(scope, receive, send)
            return
        incoming = read_request_headers(scope["headers"])
        request_id = _request_id(incoming.request_id)
        token = request_id_var.set(request_id)
        extra: list[tuple[bytes, bytes]] = [(b"x-request-id", request_id.encode("latin-1"))]
        origin = incoming.origin
        if origin is not None and self.cors.allows(origin):
            extra += self.cors.response_headers(origin)
        else:  # the answer differs by Origin: a shared cache must not serve it to another one
            extra.append((b"vary", b"Origin"))
        started = time.perf_counter()
        try:
            status, upstream = await self._handle(scope, receive, send, incoming, request_id, extra)
        except AppError as error:
            status, upstream = error.status, "-"
            await send_problem(send, error, extra)
        except Exception:
            logger.exception("gateway request failed", extra={"path": scope["path"]})
            status, upstream = 500, "-"
            await send_problem(send, AppError("Internal error"), extra)
        finally:
            request_id_var.reset(token)
        self.metrics.observe(upstream, status, time.perf_counter() - started)

    async def _handle(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        incoming: IncomingRequest,
        request_id: str,
        extra: list[tuple[bytes, bytes]],
    ) -> tuple[int, str]:
        path: str = scope["path"]
        method: str = scope["method"]
        match = self.routes.match(method, path)
        if match is None:
            allowed = self.routes.methods_of(path)
            if allowed:
                raise MethodNotAllowed(
                    f"{method} is not allowed here.",
                    headers={"Allow": ", ".join(allowed)},
                    allowed=list(allowed),
                )
            raise not_found(path)
        if "/." in path:
            segments = path.split("/")
            if "." in segments or ".." in segments:
                raise InvalidPath("Paths with '.' or '..' segments are refused.")
        route = match.route

        if method == "OPTIONS" and incoming.origin is not None and incoming.preflight_method:
            return await self._preflight(send, incoming, extra), "-"
        if self.read_only and method not in _SAFE_METHODS and not _writes_in_read_only(route):
            raise ReadOnlyMode(
                "The platform is in emergency read-only mode; only reads are served.",
                retry_after=60,
            )
        if incoming.invalid_content_length:
            raise InvalidPath(
                "The Content-Length header is invalid.", code="invalid_content_length"
            )
        if incoming.content_length is not None and incoming.content_length > self.max_body:
            raise payload_too_large(self.max_body)

        user_id: str | None = None
        if not route.public:
            if self.authenticator is None:
                raise upstream_unavailable("auth", "token verification is not configured")
            verified = await self.authenticator.authenticate(incoming.authorization)
            if route.admin and verified.role != _ADMIN_ROLE:
                raise InsufficientScopeError(
                    "This endpoint needs the admin role.", required_roles=[_ADMIN_ROLE]
                )
            user_id = str(verified.user_id)

        peer = scope["client"][0] if scope.get("client") else "unknown"
        client_ip = self.client_ips.resolve(peer, incoming.forwarded_for)
        if self.limits is not None:
            verdict = await self.limits.check(route.route_class, client_ip, user_id)
            if not verdict.allowed:
                raise _rate_limited(verdict)
            if verdict.degraded:
                self.metrics.rate_limit_degraded(route.route_class)

        assert self.forwarder is not None
        status = await self.forwarder.forward(
            scope,
            receive,
            send,
            match,
            incoming,
            client_ip=client_ip,
            request_id=request_id,
            extra_response_headers=extra,
        )
        return status, match.upstream

    async def _preflight(
        self, send: Send, incoming: IncomingRequest, extra: list[tuple[bytes, bytes]]
    ) -> int:
        assert incoming.origin is not None
        headers = self.cors.preflight_headers(incoming.origin, incoming.preflight_headers)
        if headers is None:
            refused = CorsOriginRefused("This origin or a requested header is not allowed.")
            await send_problem(send, refused, [extra[0]])  # no CORS header: the browser refuses
            return refused.status
        headers.append(extra[0])
        headers.append((b"content-length", b"0"))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return 204


def _writes_in_read_only(route: Route) -> bool:
    """Webhooks (the provider retries otherwise) and the login-session writes (refresh, logout:
    without them every user is signed out within one access-token lifetime) pass read-only
    mode; see the gateway README."""
    return route.route_class == "webhooks" or route.read_only_writes


def _rate_limited(verdict: RateLimitResult) -> AppError:
    return TooManyRequests(
        "Too many requests; slow down and retry after the indicated delay.",
        retry_after=verdict.retry_after_seconds,
        limit=verdict.refused_by,
    )


def _request_id(candidate: bytes | None) -> str:
    """The client's ``X-Request-Id`` when well formed, else a new one (32 hex digits)."""
    if candidate is not None and _VALID_REQUEST_ID.match(candidate):
        return candidate.decode("latin-1")
    return f"{getrandbits(128):032x}"
