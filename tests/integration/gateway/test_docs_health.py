"""Aggregated OpenAPI as clients see it; /healthz; /readyz with a per-upstream breakdown."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.gateway_stack import RecordingUpstream, StackFactory


def _schema(title: str) -> dict[str, Any]:
    return {"type": "object", "title": title, "properties": {"x": {"type": "string"}}}


def _op(ref: str | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": "op", "responses": {"200": {"description": "ok"}}}
    if ref:
        op["responses"]["200"]["content"] = {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}
        }
    return op


@pytest.fixture
def documented(recording_upstreams: dict[str, RecordingUpstream]) -> Iterator[None]:
    recording_upstreams["auth"].openapi = {
        "openapi": "3.1.0",
        "paths": {
            "/v1/auth/otp/start": {"post": _op("Problem")},
            "/v1/auth/me": {"get": _op("Me")},
            "/v1/admin/otp/diagnostics": {"get": _op()},
            "/internal/only": {"get": _op()},
        },
        "components": {"schemas": {"Problem": _schema("auth problem"), "Me": _schema("me")}},
    }
    recording_upstreams["payments"].openapi = {
        "openapi": "3.1.0",
        "paths": {"/v1/wallet": {"get": _op("Problem")}},
        "components": {"schemas": {"Problem": _schema("payments problem")}},
    }
    yield
    for upstream in recording_upstreams.values():
        upstream.openapi = None


@pytest.mark.usefixtures("documented")
async def test_openapi_aggregates_services_as_clients_see_them(gateway_stack: StackFactory) -> None:
    async with gateway_stack() as stack:
        doc = (await stack.client.get("/openapi.json")).json()
        paths = doc["paths"]
        assert set(paths) == {
            "/v1/auth/otp/start",
            "/v1/auth/me",
            "/v1/admin/auth/otp/diagnostics",
            "/v1/wallet",
        }
        assert "security" not in paths["/v1/auth/otp/start"]["post"]
        assert paths["/v1/auth/me"]["get"]["security"] == [{"bearer": []}]
        assert paths["/v1/admin/auth/otp/diagnostics"]["get"]["tags"][0] == "auth"
        schemas = doc["components"]["schemas"]
        assert schemas["Problem"]["title"] == "auth problem"
        assert schemas["payments__Problem"]["title"] == "payments problem"
        wallet_ref = paths["/v1/wallet"]["get"]["responses"]["200"]["content"]["application/json"]
        assert wallet_ref["schema"]["$ref"] == "#/components/schemas/payments__Problem"
        assert doc["x-nerava-upstreams"] == {
            "auth": "ok",
            "notifications": "ok",
            "payments": "ok",
            "sessions": "ok",
        }
        docs = await stack.client.get("/docs")
        assert docs.status_code == 200
        assert "/openapi.json" in docs.text


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_readyz_breaks_down_upstreams(gateway_stack: StackFactory) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}"
    async with gateway_stack(upstream_sessions=dead, upstream_notifications=None) as stack:
        assert (await stack.client.get("/healthz")).status_code == 200
        resp = await stack.client.get("/readyz")
        assert resp.status_code == 200, resp.text  # upstreams reported, not required by default
        upstreams = resp.json()["checks"]["upstreams"]
        assert upstreams["upstreams"]["auth"]["status"] == "ok"
        assert upstreams["upstreams"]["sessions"]["status"] == "down"
        assert upstreams["upstreams"]["notifications"]["status"] == "not_configured"
        assert upstreams["unavailable_upstreams"] == ["notifications", "sessions"]
        assert resp.json()["checks"]["redis"]["status"] == "ok"
    async with gateway_stack(upstream_sessions=dead, readiness_requires_upstreams=True) as stack:
        resp = await stack.client.get("/readyz")
        assert resp.status_code == 503
        assert resp.json()["unavailable"] == ["upstreams"]


async def test_readyz_names_redis_when_it_is_down(gateway_stack: StackFactory) -> None:
    async with gateway_stack(redis_url="redis://127.0.0.1:1/0", redis_timeout_seconds=0.3) as stack:
        resp = await stack.client.get("/readyz")
        assert resp.status_code == 503
        assert resp.json()["unavailable"] == ["redis"]
