"""Upstream failures as problem+json: 504 on timeouts, 503 refused or absent, 404 unrouted."""

from __future__ import annotations

import socket

from gateway.settings import UpstreamTimeouts

from tests.support.gateway_stack import StackFactory

PUBLIC = "/v1/webhooks/stripe"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_slow_upstream_is_504_upstream_timeout(gateway_stack: StackFactory) -> None:
    timeouts = {"payments": UpstreamTimeouts(connect_seconds=1, read_seconds=1.0)}
    async with gateway_stack(upstream_timeouts=timeouts) as stack:
        resp = await stack.client.get(PUBLIC, params={"sleep": 3})
        assert resp.status_code == 504
        assert resp.headers["content-type"] == "application/problem+json"
        body = resp.json()
        assert body["code"] == "upstream_timeout"
        assert body["upstream"] == "payments"
        assert body["request_id"] == resp.headers["x-request-id"]
        # The pool recovers: the next request is served.
        assert (await stack.client.get(PUBLIC)).status_code == 200


async def test_dead_upstream_is_503_upstream_unavailable(gateway_stack: StackFactory) -> None:
    async with gateway_stack(upstream_payments=f"http://127.0.0.1:{_closed_port()}") as stack:
        resp = await stack.client.post(PUBLIC, content=b"{}")
        assert resp.status_code == 503
        assert resp.json()["code"] == "upstream_unavailable"
        assert resp.json()["upstream"] == "payments"
        assert resp.headers["retry-after"] == "1"


async def test_unconfigured_upstream_is_503_until_it_exists(gateway_stack: StackFactory) -> None:
    async with gateway_stack(upstream_payments=None) as stack:
        resp = await stack.client.post(PUBLIC, content=b"{}")
        assert resp.status_code == 503
        assert resp.json()["code"] == "upstream_unavailable"
        assert "not configured" in resp.json()["detail"]


async def test_unknown_paths_are_404_problems(gateway_stack: StackFactory) -> None:
    async with gateway_stack() as stack:
        for path in ("/v1/nothing", "/v1/authx", "/v1/admin/unknown-service/x", "/v2/auth/me"):
            resp = await stack.client.get(path)
            assert resp.status_code == 404, path
            assert resp.headers["content-type"] == "application/problem+json"
            assert resp.json()["code"] == "not_found"
        assert stack.calls() == 0


async def test_dot_segments_are_refused(gateway_stack: StackFactory) -> None:
    async with gateway_stack() as stack:
        resp = await stack.client.get("/v1/webhooks/stripe/%2E%2E/%2E%2E/wallet")
        assert resp.status_code == 400
        assert resp.json()["code"] == "invalid_path"
        assert stack.calls() == 0
