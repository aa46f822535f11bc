"""Forwarding: methods, status codes, headers, query strings and large streamed bodies."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator

import pytest

from tests.support.gateway_stack import StackFactory, pattern_bytes

PUBLIC = "/v1/webhooks/stripe"  # a public route to payments: no token needed


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_every_method_reaches_the_upstream_unchanged(
    gateway_stack: StackFactory, method: str
) -> None:
    async with gateway_stack() as stack:
        resp = await stack.client.request(method, PUBLIC + "/x", content=b"{}")
        assert resp.status_code == 200, resp.text
        assert resp.json()["method"] == method
        received = stack.last("payments")
        assert received.method == method
        assert received.path == PUBLIC + "/x"
        assert received.body == b"{}"


async def test_head_returns_headers_without_body(gateway_stack: StackFactory) -> None:
    async with gateway_stack() as stack:
        resp = await stack.client.head(PUBLIC)
        assert resp.status_code == 200
        assert resp.content == b""
        assert stack.last("payments").method == "HEAD"


@pytest.mark.parametrize("status", [201, 204, 302, 400, 404, 409, 418, 500, 503])
async def test_upstream_status_codes_pass_through(gateway_stack: StackFactory, status: int) -> None:
    async with gateway_stack() as stack:
        resp = await stack.client.get(PUBLIC, params={"status": status})
        assert resp.status_code == status


async def test_query_string_and_path_encoding_arrive_byte_for_byte(
    gateway_stack: StackFactory,
) -> None:
    async with gateway_stack() as stack:
        raw = "/v1/webhooks/twilio/sms%2Finbound/caf%C3%A9"
        query = "a=1&a=2&b=%20x+y&empty=&flag"
        resp = await stack.client.get(f"{raw}?{query}")
        assert resp.status_code == 200
        received = stack.last("notifications")
        assert received.raw_path == raw.encode()
        assert received.query == query.encode()


async def test_request_headers_forwarded_and_hop_by_hop_dropped(
    gateway_stack: StackFactory,
) -> None:
    async with gateway_stack() as stack:
        resp = await stack.client.get(
            PUBLIC,
            headers={
                "X-Custom": "kept",
                "Accept-Language": "fr",
                "Connection": "keep-alive, X-Private",
                "X-Private": "hop-only",
                "Keep-Alive": "timeout=5",
                "TE": "trailers",
                "Upgrade": "h2c",
                "Proxy-Authorization": "Basic c2VjcmV0",
            },
        )
        assert resp.status_code == 200
        received = stack.last("payments")
        assert received.header("x-custom") == "kept"
        assert received.header("accept-language") == "fr"
        for dropped in ("x-private", "keep-alive", "te", "upgrade", "proxy-authorization"):
            assert received.header(dropped) is None, dropped
        # Host is the upstream's own, not the client's.
        assert received.header("host") == f"127.0.0.1:{stack.upstreams['payments'].port}"


async def test_response_headers_forwarded_and_hop_by_hop_dropped(
    gateway_stack: StackFactory,
) -> None:
    async with gateway_stack() as stack:
        resp = await stack.client.get(
            PUBLIC, params=[("header", "x-result:42"), ("header", "cache-control:no-store")]
        )
        assert resp.headers["x-result"] == "42"
        assert resp.headers["cache-control"] == "no-store"
        assert resp.headers["x-upstream"] == "payments"
        # The upstream listed x-hop in Connection: hop-by-hop, never forwarded.
        assert "x-hop" not in resp.headers


async def test_request_id_and_traceparent_propagated(gateway_stack: StackFactory) -> None:
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with gateway_stack() as stack:
        resp = await stack.client.get(
            PUBLIC, headers={"X-Request-Id": "req-123", "traceparent": traceparent}
        )
        assert resp.headers["x-request-id"] == "req-123"
        received = stack.last("payments")
        assert received.all("x-request-id") == ["req-123"]
        assert received.all("traceparent") == [traceparent]

        resp = await stack.client.get(PUBLIC, headers={"X-Request-Id": "bad id with spaces"})
        generated = resp.headers["x-request-id"]
        assert generated != "bad id with spaces"
        received = stack.last("payments")
        assert received.all("x-request-id") == [generated]
        assert re.fullmatch(
            r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", received.header("traceparent") or ""
        )


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_large_bodies_stream_both_ways(gateway_stack: StackFactory) -> None:
    size = 20 * 1024 * 1024
    body = pattern_bytes(size)
    digest = hashlib.sha256(body).hexdigest()
    async with gateway_stack(max_body_bytes=32 * 1024 * 1024) as stack:
        # With Content-Length.
        resp = await stack.client.post(PUBLIC, content=body)
        assert resp.status_code == 200, resp.text
        assert resp.json()["length"] == size
        assert resp.json()["sha256"] == digest
        # Chunked (no Content-Length).
        resp = await stack.client.post(PUBLIC, content=_chunks(body, 256 * 1024))
        assert resp.status_code == 200, resp.text
        assert resp.json()["sha256"] == digest
        assert stack.last("payments").header("content-length") is None
        # Download, streamed back.
        async with stack.client.stream("GET", PUBLIC, params={"size": size}) as streamed:
            assert streamed.status_code == 200
            hasher = hashlib.sha256()
            received = 0
            async for chunk in streamed.aiter_bytes():
                hasher.update(chunk)
                received += len(chunk)
        assert received == size
        assert hasher.hexdigest() == digest


async def test_body_over_the_limit_is_refused_with_413(gateway_stack: StackFactory) -> None:
    async with gateway_stack(max_body_bytes=1024 * 1024) as stack:
        big = b"x" * (1024 * 1024 + 1)
        resp = await stack.client.post(PUBLIC, content=big)
        assert resp.status_code == 413
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json()["code"] == "payload_too_large"
        assert stack.calls() == 0

        resp = await stack.client.post(PUBLIC, content=_chunks(big, 64 * 1024))
        assert resp.status_code == 413
        assert resp.json()["code"] == "payload_too_large"

        ok = await stack.client.post(PUBLIC, content=_chunks(b"y" * 1024 * 1024, 64 * 1024))
        assert ok.status_code == 200
        assert ok.json()["length"] == 1024 * 1024


async def test_connection_close_and_http10_get_the_whole_response(
    gateway_stack: StackFactory,
) -> None:
    async with gateway_stack() as stack:
        for request in (
            b"GET /v1/webhooks/stripe HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n",
            b"GET /v1/webhooks/stripe HTTP/1.0\r\nHost: gw\r\n\r\n",
        ):
            reader, writer = await asyncio.open_connection("127.0.0.1", stack.gateway.port)
            writer.write(request)
            await writer.drain()
            raw = await reader.read()  # until the gateway closes the connection
            writer.close()
            await writer.wait_closed()
            head, _, body = raw.partition(b"\r\n\r\n")
            assert head.split(b"\r\n")[0].endswith(b"200 OK"), head
            assert json.loads(body)["upstream"] == "payments"


async def test_pipelined_requests_on_one_connection(gateway_stack: StackFactory) -> None:
    async with gateway_stack() as stack:
        reader, writer = await asyncio.open_connection("127.0.0.1", stack.gateway.port)
        one = b"GET /v1/webhooks/stripe/%d HTTP/1.1\r\nHost: gw\r\n\r\n"
        writer.write(
            one % 1 + one % 2 + (one % 3).replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
        )
        await writer.drain()
        raw = await reader.read()
        writer.close()
        await writer.wait_closed()
        assert raw.count(b"HTTP/1.1 200 OK") == 3
        paths = [r.path for r in stack.upstreams["payments"].received[-3:]]
        assert paths == ["/v1/webhooks/stripe/1", "/v1/webhooks/stripe/2", "/v1/webhooks/stripe/3"]
