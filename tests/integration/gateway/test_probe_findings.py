"""The outside probe's smaller findings at the edge: a lying Content-Length is a problem+json
400, every answer of a cacheable route varies by Origin, and an undeclared method on a
method-listing (public) route is 405 with ``Allow``, not a shorter route's 401."""

from __future__ import annotations

import asyncio
import json

from tests.support.gateway_stack import StackFactory


async def _raw(port: int, request: bytes) -> tuple[bytes, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(65536), 10)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (ln.decode().partition(":") for ln in lines)
    }
    return status, headers, body


async def test_a_lying_content_length_is_a_problem_json_400(gateway_stack: StackFactory) -> None:
    async with gateway_stack() as stack:
        request = (
            b"POST /v1/auth/otp/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 5\r\nContent-Length: 7\r\n\r\n{}"
        )
        status, headers, body = await _raw(stack.gateway.port, request)
    assert status.startswith(b"HTTP/1.1 400"), status
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["code"] == "malformed_request"


async def test_answers_vary_by_origin_for_listed_unlisted_and_absent_origins(
    gateway_stack: StackFactory,
) -> None:
    async with gateway_stack(cors_allowed_origins=("https://app.nerava.test",)) as stack:
        for origin in ("https://app.nerava.test", "https://evil.example", None):
            headers = {"Origin": origin} if origin else {}
            resp = await stack.client.get("/v1/auth/jwks.json", headers=headers)
            assert "Origin" in resp.headers.get("vary", ""), (origin, resp.headers)


async def test_an_undeclared_method_on_a_public_route_is_405(gateway_stack: StackFactory) -> None:
    async with gateway_stack() as stack:
        resp = await stack.client.post("/v1/auth/jwks.json", json={})
        assert resp.status_code == 405, resp.text
        assert resp.json()["code"] == "method_not_allowed"
        assert resp.headers["allow"] == "GET, HEAD"
        assert (await stack.client.head("/v1/auth/jwks.json")).status_code == 200
