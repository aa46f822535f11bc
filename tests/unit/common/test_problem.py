from __future__ import annotations

import httpx
from common.errors import TooManyRequests, Unauthorized
from common.problem import install_problem_handlers
from common.request_context import RequestIdMiddleware
from fastapi import FastAPI
from pydantic import BaseModel


class Body(BaseModel):
    phone: str


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RequestIdMiddleware)

    @app.post("/limited")
    async def limited(body: Body) -> None:
        raise TooManyRequests("slow down", retry_after=2.2, attempts_remaining=0)

    @app.get("/secret")
    async def secret() -> None:
        raise Unauthorized(code="token_expired")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("database password=hunter2 leaked")

    return app


async def _client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


async def test_app_error_becomes_problem_json_with_retry_after() -> None:
    async with await _client() as client:
        resp = await client.post("/limited", json={"phone": "x"}, headers={"X-Request-Id": "r1"})
    assert resp.status_code == 429
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.headers["retry-after"] == "3"
    assert resp.headers["x-request-id"] == "r1"
    body = resp.json()
    assert body["code"] == "rate_limited"
    assert body["retry_after"] == 3
    assert body["attempts_remaining"] == 0
    assert body["request_id"] == "r1"


async def test_validation_error_is_400_validation_failed() -> None:
    async with await _client() as client:
        resp = await client.post("/limited", json={"nope": 1})
    assert resp.status_code == 400
    assert resp.json()["code"] == "validation_failed"
    assert resp.json()["errors"][0]["loc"] == ["body", "phone"]


async def test_unauthorized_has_www_authenticate() -> None:
    async with await _client() as client:
        resp = await client.get("/secret")
    assert resp.status_code == 401
    assert resp.json()["code"] == "token_expired"
    assert 'error="invalid_token"' in resp.headers["www-authenticate"]


async def test_unknown_route_and_unexpected_error_are_problems_without_internals() -> None:
    async with await _client() as client:
        missing = await client.get("/nope")
        boom = await client.get("/boom")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert boom.status_code == 500 and boom.json()["code"] == "internal_error"
    assert "hunter2" not in boom.text
