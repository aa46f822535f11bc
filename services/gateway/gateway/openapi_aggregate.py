"""``/openapi.json`` and ``/docs``: the services' OpenAPI documents merged, as clients see them.

Each upstream's ``/openapi.json`` is fetched (cached ``OPENAPI_CACHE_SECONDS``; a failed fetch
is retried after a few seconds), and only operations the route table actually forwards to that
service are kept, under the path a client uses (admin paths get their ``/v1/admin/<service>``
prefix). Protected operations carry the bearer security requirement, every operation is tagged
with its service, the gateway's own answers (edge problems: bad requests, body size, rate
limits, upstream failures, the token check, read-only mode) join each operation's problem
responses, and component schemas whose names collide between services are renamed
``<service>__<Name>`` (with every ``$ref`` rewritten). ``x-nerava-upstreams`` says which
documents could not be fetched.
"""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

import aiohttp
from common.errors import PayloadTooLarge, TooManyRequests, UpstreamTimeout
from common.openapi_errors import (
    ADMIN,
    PROBLEM_COMPONENT,
    SIGNED_IN,
    ErrorSpec,
    documented_codes,
    problems,
)
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse, JSONResponse

from gateway.problems import BadGateway, InvalidPath, ReadOnlyMode, UpstreamUnavailable
from gateway.rate_limit import RateLimiterUnavailable
from gateway.routes import Route, RouteTable
from gateway.upstreams import Upstreams

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_REF_PREFIX = "#/components/schemas/"
_FAILED_RETRY_SECONDS = 5.0
_FETCH_TIMEOUT_SECONDS = 3.0

Document = dict[str, Any]


class OpenApiAggregator:
    def __init__(
        self,
        upstreams: Upstreams,
        routes: RouteTable,
        *,
        title: str,
        version: str,
        cache_seconds: float,
    ) -> None:
        self._upstreams = upstreams
        self._routes = routes
        self._title = title
        self._version = version
        self._cache_seconds = cache_seconds
        self._cached: Document | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def document(self) -> Document:
        if self._cached is not None and time.monotonic() < self._expires_at:
            return self._cached
        async with self._lock:
            if self._cached is not None and time.monotonic() < self._expires_at:
                return self._cached
            names = sorted(self._upstreams.configured)
            fetched = await asyncio.gather(*(self._fetch(n) for n in names))
            status: dict[str, str] = {}
            documents: dict[str, Document] = {}
            for name, (doc, error) in zip(names, fetched, strict=True):
                if doc is not None:
                    documents[name] = doc
                    status[name] = "ok"
                else:
                    status[name] = f"unavailable: {error}"
            merged = self.merge(documents)
            merged["x-nerava-upstreams"] = status
            complete = all(v == "ok" for v in status.values())
            ttl = (
                self._cache_seconds if complete else min(self._cache_seconds, _FAILED_RETRY_SECONDS)
            )
            self._cached, self._expires_at = merged, time.monotonic() + ttl
            return merged

    async def _fetch(self, name: str) -> tuple[Document | None, str | None]:
        upstream = self._upstreams.get(name)
        if upstream is None:
            return None, "not configured"
        try:
            async with asyncio.timeout(_FETCH_TIMEOUT_SECONDS):
                async with upstream.session.get(upstream.base_url + "/openapi.json") as resp:
                    if resp.status != 200:
                        return None, f"HTTP {resp.status}"
                    doc = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return None, type(exc).__name__
        if not isinstance(doc, dict):
            return None, "not a JSON object"
        return doc, None

    def merge(self, documents: dict[str, Document]) -> Document:
        merged: Document = {
            "openapi": "3.1.0",
            "info": {"title": self._title, "version": self._version},
            "paths": {},
            "components": {
                "schemas": {"ProblemDetails": PROBLEM_COMPONENT},
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                },
            },
            "tags": [],
        }
        schemas: dict[str, Any] = merged["components"]["schemas"]
        paths: dict[str, Any] = merged["paths"]
        for service, doc in sorted(documents.items()):
            merged["tags"].append({"name": service, "description": f"Served by {service}"})
            renames = self._merge_schemas(service, doc, schemas)
            for path, item in (doc.get("paths") or {}).items():
                if not isinstance(item, dict):
                    continue
                for method in _HTTP_METHODS:
                    operation = item.get(method)
                    if not isinstance(operation, dict):
                        continue
                    gateway_path = self._routes.gateway_path_for(service, path, method.upper())
                    if gateway_path is None:
                        continue
                    paths.setdefault(gateway_path, {})[method] = self._operation(
                        service, gateway_path, method, operation, renames
                    )
        return merged

    def _operation(
        self, service: str, path: str, method: str, operation: Document, renames: dict[str, str]
    ) -> Document:
        op: Document = _rewrite_refs(copy.deepcopy(operation), renames)
        op["tags"] = [service, *[t for t in op.get("tags", []) if t != service]]
        if "operationId" in op:
            op["operationId"] = f"{service}__{op['operationId']}"
        match = self._routes.match(method.upper(), path)
        if match is not None and not match.route.public:
            op["security"] = [{"bearer": []}]
        if match is not None:
            add_edge_problems(op, match.route, method.upper())
        return op

    @staticmethod
    def _merge_schemas(service: str, doc: Document, schemas: dict[str, Any]) -> dict[str, str]:
        own: dict[str, Any] = (doc.get("components") or {}).get("schemas") or {}
        renames = {
            name: f"{service}__{name}"
            for name, schema in own.items()
            if name in schemas and schemas[name] != schema
        }
        for name, schema in own.items():
            schemas[renames.get(name, name)] = _rewrite_refs(copy.deepcopy(schema), renames)
        return renames


_EDGE: tuple[ErrorSpec, ...] = (
    (InvalidPath.status, InvalidPath.code),
    (InvalidPath.status, "invalid_content_length"),
    (PayloadTooLarge.status, PayloadTooLarge.code),
    (TooManyRequests.status, TooManyRequests.code),
    (BadGateway.status, BadGateway.code),
    (UpstreamUnavailable.status, UpstreamUnavailable.code),
    (RateLimiterUnavailable.status, RateLimiterUnavailable.code),
    (UpstreamTimeout.status, UpstreamTimeout.code),
)
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def add_edge_problems(operation: Document, route: Route, method: str) -> None:
    """What the gateway itself can answer on ``route``, merged into the upstream's responses:
    malformed requests, body size, rate limits, upstream failures, the token check on a
    protected route (and the admin role on an admin one), read-only mode on a write."""
    edge: list[ErrorSpec] = list(_EDGE)
    if not route.public:
        edge += ADMIN if route.admin else SIGNED_IN
    if method in _WRITES and route.route_class != "webhooks" and not route.read_only_writes:
        edge.append((ReadOnlyMode.status, ReadOnlyMode.code))
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, response in problems(*edge).items():
        key = str(status)
        codes = documented_codes(responses.get(key, {})) | documented_codes(response)
        if key in responses and not documented_codes(responses[key]):
            continue  # a success status of the upstream's (never the case for >= 400)
        responses[key] = problems(*((int(status), c) for c in codes))[int(status)]


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    if not renames:
        return node
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
            name = ref[len(_REF_PREFIX) :]
            if name in renames:
                node["$ref"] = _REF_PREFIX + renames[name]
        for value in node.values():
            _rewrite_refs(value, renames)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, renames)
    return node


def docs_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/openapi.json")
    async def openapi(request: Request) -> JSONResponse:
        aggregator: OpenApiAggregator = request.app.state.openapi_aggregator
        return JSONResponse(await aggregator.document())

    @router.get("/docs")
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Nerava API")

    return router
