"""The gateway under test: a recording upstream and the gateway, both real HTTP under uvicorn.

Both listen on ephemeral 127.0.0.1 ports in the test's event loop (``serve``). The fixtures
``recording_upstreams`` and ``gateway_stack`` (``tests/integration/gateway/conftest.py``) put a
:class:`Stack` together from these pieces. The upstream records every
request it receives (method, raw path, query, headers, body bytes) and answers according to
query parameters: ``status=N``, ``sleep=S`` (before answering), ``size=N`` (a streamed body of N
bytes), ``header=name:value`` (an extra response header).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from gateway.http_protocol import GatewayHttpProtocol
from gateway.main import create_app
from gateway.settings import GatewaySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support.http_server import Running, serve
from tests.support.isolation import RunInfra
from tests.support.jwt_tokens import TestSigningKeys


@dataclass
class Received:
    method: str
    path: str
    raw_path: bytes
    query: bytes
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n == name.lower()]


@dataclass
class RecordingUpstream:
    name: str
    keys: TestSigningKeys | None = None
    openapi: dict[str, Any] | None = None
    received: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/healthz", self._healthz),
                Route("/openapi.json", self._openapi),
                Route("/v1/auth/jwks.json", self._jwks),
                Route(
                    "/{rest:path}",
                    self._any,
                    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                ),
            ]
        )

    async def _healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def _openapi(self, request: Request) -> Response:
        return JSONResponse(self.openapi or {"openapi": "3.1.0", "paths": {}})

    async def _jwks(self, request: Request) -> Response:
        if self.keys is None:
            return JSONResponse({"keys": []})
        return JSONResponse(self.keys.jwks())

    async def _any(self, request: Request) -> Response:
        body = await request.body()
        self.received.append(
            Received(
                method=request.method,
                path=request.url.path,
                raw_path=request.scope.get("raw_path", b""),
                query=request.scope["query_string"],
                headers=[
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]
                ],
                body=body,
            )
        )
        params = request.query_params
        if "sleep" in params:
            # a slow upstream on request: the delay itself is what the test exercises
            await asyncio.sleep(float(params["sleep"]))
        status = int(params.get("status", "200"))
        headers = {"x-upstream": self.name, "connection": "x-hop", "x-hop": "secret"}
        for value in params.getlist("header"):
            name, _, header_value = value.partition(":")
            headers[name] = header_value
        if "size" in params:
            size = int(params["size"])
            return StreamingResponse(_pattern(size), status_code=status, headers=headers)
        payload = {
            "upstream": self.name,
            "method": request.method,
            "path": request.url.path,
            "length": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
        }
        return JSONResponse(payload, status_code=status, headers=headers)


async def _pattern(size: int) -> AsyncIterator[bytes]:
    block = bytes(range(256)) * 256  # 64 KiB
    sent = 0
    while sent < size:
        chunk = block[: min(len(block), size - sent)]
        sent += len(chunk)
        yield chunk


def pattern_bytes(size: int) -> bytes:
    block = bytes(range(256)) * 256
    return (block * (size // len(block) + 1))[:size]


@contextlib.asynccontextmanager
async def upstream_server(upstream: RecordingUpstream) -> AsyncIterator[RecordingUpstream]:
    async with serve(upstream.app()) as running:
        upstream.port = running.port
        yield upstream


def gateway_settings(infra: RunInfra, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "env": "test",
        "redis_url": infra.redis_url,
        "log_json": True,
        "readiness_timeout_seconds": 1.0,
        # The gateway's GC tuning (freeze + a high threshold) is for its own process; here it
        # would run inside pytest's and shift when other tests' garbage is collected.
        "gc_gen0_threshold": 0,
        **overrides,
    }
    return GatewaySettings(**values)


@contextlib.asynccontextmanager
async def gateway_server(settings: GatewaySettings) -> AsyncIterator[Running]:
    # As deployed: uvicorn with the gateway's coalescing httptools protocol.
    async with serve(create_app(settings), http=GatewayHttpProtocol) as running:
        yield running


@dataclass
class Stack:
    """A running gateway with a recording upstream behind each of the four service names."""

    gateway: Running
    upstreams: dict[str, RecordingUpstream]
    keys: TestSigningKeys
    client: httpx.AsyncClient
    redis_prefix: str

    def last(self, upstream: str) -> Any:
        return self.upstreams[upstream].received[-1]

    def calls(self) -> int:
        return sum(len(u.received) for u in self.upstreams.values())


StackFactory = Callable[..., contextlib.AbstractAsyncContextManager[Stack]]
