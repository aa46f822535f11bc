"""One request to an upstream over its aiohttp session, both bodies streamed.

Bodies pass through as bytes (never parsed, re-encoded or decompressed), so webhook signatures
computed over the raw body still verify upstream. Small bodies with a ``Content-Length`` are
read in one go (cheaper than a generator); others are streamed and counted, and a body that
grows past ``MAX_BODY_BYTES`` while streaming is cut off and answered 413.

Failures before the response starts become problem+json: connection refused or an upstream that
is not configured -> 503 ``upstream_unavailable``; connect or read timeout -> 504
``upstream_timeout``; a broken response -> 502 ``bad_gateway``. A failure after the response
started can only cut the connection (the client sees a truncated body).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from random import getrandbits
from typing import Any

import aiohttp
from opentelemetry import propagate, trace
from starlette.types import Receive, Scope, Send
from yarl import URL

from gateway.headers import Headers, IncomingRequest, response_headers
from gateway.problems import (
    bad_gateway,
    payload_too_large,
    upstream_timeout,
    upstream_unavailable,
)
from gateway.routes import Match
from gateway.upstreams import Upstreams

logger = logging.getLogger(__name__)

# Bodies up to this size (with a Content-Length) are read whole instead of streamed.
_SMALL_BODY = 256 * 1024
_STREAM_CHUNK = 64 * 1024
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
CLIENT_CLOSED = 499


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


@dataclass(slots=True)
class _BodyState:
    too_large: bool = False
    client_gone: bool = False


async def _read_small_body(receive: Receive, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise _BodyTooLarge
            parts.append(chunk)
        if not message.get("more_body", False):
            break
    return parts[0] if len(parts) == 1 else b"".join(parts)


async def _stream_body(receive: Receive, limit: int, state: _BodyState) -> AsyncIterator[bytes]:
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            state.client_gone = True
            raise _ClientGone
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                state.too_large = True
                raise _BodyTooLarge
            yield chunk
        if not message.get("more_body", False):
            return


class Forwarder:
    def __init__(
        self,
        upstreams: Upstreams,
        *,
        max_body: int,
        public_base_url: str,
        tracer: trace.Tracer | None,
    ) -> None:
        self.upstreams = upstreams
        self.max_body = max_body
        self.public_base_url = public_base_url
        self.tracer = tracer

    async def forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        match: Match,
        incoming: IncomingRequest,
        *,
        client_ip: str,
        request_id: str,
        extra_response_headers: Headers,
    ) -> int:
        upstream = self.upstreams.get(match.upstream)
        if upstream is None:
            raise upstream_unavailable(match.upstream, "not configured")
        raw_path = _upstream_raw_path(scope, match)
        query: bytes = scope["query_string"]
        target = upstream.base_url + raw_path
        if query:
            target += "?" + query.decode("latin-1")
        headers = incoming.forward
        headers.append(("x-nerava-client-ip", client_ip))
        headers.append(("x-request-id", request_id))
        if match.route.route_class == "webhooks":
            public = self.public_base_url + scope.get("raw_path", b"").decode("latin-1")
            if query:
                public += "?" + query.decode("latin-1")
            headers.append(("x-nerava-public-url", public))
        method: str = scope["method"]
        if self.tracer is not None:
            return await self._forward_traced(
                scope, receive, send, match, incoming, target, method, extra_response_headers
            )
        if not incoming.has_traceparent:
            headers.append(("traceparent", new_trace_parent()))
        return await self._exchange(
            receive,
            send,
            match.upstream,
            upstream.session,
            method,
            target,
            incoming,
            extra_response_headers,
        )

    async def _forward_traced(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        match: Match,
        incoming: IncomingRequest,
        target: str,
        method: str,
        extra: Headers,
    ) -> int:
        assert self.tracer is not None
        carrier = {n: v for n, v in incoming.forward if n in ("traceparent", "tracestate")}
        incoming.forward = [
            (n, v) for n, v in incoming.forward if n not in ("traceparent", "tracestate")
        ]
        parent = propagate.extract(carrier)
        name = f"{method} {match.route.prefix}"
        with self.tracer.start_as_current_span(
            name, context=parent, kind=trace.SpanKind.SERVER
        ) as span:
            span.set_attribute("nerava.upstream", match.upstream)
            injected: dict[str, str] = {}
            propagate.inject(injected)
            incoming.forward.extend(injected.items())
            upstream = self.upstreams.get(match.upstream)
            assert upstream is not None
            status = await self._exchange(
                receive, send, match.upstream, upstream.session, method, target, incoming, extra
            )
            span.set_attribute("http.response.status_code", status)
            return status

    async def _exchange(
        self,
        receive: Receive,
        send: Send,
        name: str,
        session: aiohttp.ClientSession,
        method: str,
        target: str,
        incoming: IncomingRequest,
        extra: Headers,
    ) -> int:
        state = _BodyState()
        data: Any = None
        length = incoming.content_length
        try:
            if incoming.chunked or (length is not None and length > _SMALL_BODY):
                data = _stream_body(receive, self.max_body, state)
            elif length:
                data = await _read_small_body(receive, self.max_body)
        except _ClientGone:
            return CLIENT_CLOSED
        except _BodyTooLarge:
            raise payload_too_large(self.max_body) from None
        url = URL(target, encoded=True)
        retry = method in _IDEMPOTENT and not isinstance(data, AsyncIterator)
        while True:
            try:
                response = await session.request(
                    method, url, headers=incoming.forward, data=data, allow_redirects=False
                )
            except aiohttp.ServerDisconnectedError as exc:
                if retry and not state.client_gone:
                    retry = False  # a pooled keep-alive connection closed under us: once more
                    continue
                raise self._failure(name, exc, state) from None
            except (aiohttp.ClientError, TimeoutError, _BodyTooLarge, _ClientGone) as exc:
                if state.client_gone or isinstance(exc, _ClientGone):
                    return CLIENT_CLOSED
                raise self._failure(name, exc, state) from None
            break
        try:
            return await self._relay(send, name, method, response, extra)
        finally:
            response.release()

    def _failure(self, name: str, exc: BaseException, state: _BodyState) -> Exception:
        if state.too_large or isinstance(exc, _BodyTooLarge):
            return payload_too_large(self.max_body)
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return upstream_timeout(name, "connect")
        if isinstance(exc, TimeoutError):
            return upstream_timeout(name, "read")
        if isinstance(exc, aiohttp.ClientConnectorError):
            logger.warning("upstream refused connection", extra={"upstream": name})
            return upstream_unavailable(name, "connection refused")
        logger.warning(
            "upstream exchange failed", extra={"upstream": name, "error": type(exc).__name__}
        )
        return bad_gateway(name, type(exc).__name__)

    async def _relay(
        self,
        send: Send,
        name: str,
        method: str,
        response: aiohttp.ClientResponse,
        extra: Headers,
    ) -> int:
        status = response.status
        headers = response_headers(response.raw_headers)
        headers += extra
        length = response.content_length
        if method == "HEAD" or (length is not None and length <= _SMALL_BODY):
            try:
                body = await response.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise self._failure(name, exc, _BodyState()) from None
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return status
        await send({"type": "http.response.start", "status": status, "headers": headers})
        content = response.content
        try:
            while True:
                chunk = await content.readany()
                if not chunk:
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except (aiohttp.ClientError, TimeoutError, asyncio.CancelledError) as exc:
            logger.warning(
                "upstream response cut off while streaming",
                extra={"upstream": name, "error": type(exc).__name__},
            )
            response.close()
            if isinstance(exc, asyncio.CancelledError):
                raise
            return status
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return status


def _upstream_raw_path(scope: Scope, match: Match) -> str:
    raw: bytes | None = scope.get("raw_path")
    path: str = scope["path"]
    if not match.route.admin:
        return raw.decode("latin-1") if raw else path
    # /v1/admin/<service>/<rest> -> /v1/admin/<rest>, keeping the client's encoding of <rest>
    prefix = f"{match.route.prefix}/{match.upstream}".encode()
    if raw and raw.startswith(prefix):
        rest = raw[len(prefix) :].decode("latin-1")
        return "/v1/admin" + rest
    return match.upstream_path


def new_trace_parent() -> str:
    """A fresh W3C ``traceparent`` for a request that arrived without one.

    Trace ids need uniqueness, not secrecy: ``random`` avoids a syscall per request.
    """
    return f"00-{getrandbits(128):032x}-{getrandbits(64):016x}-01"
