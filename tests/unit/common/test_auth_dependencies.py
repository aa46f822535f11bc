"""The FastAPI dependencies answer 401/403 problem+json with the contract's codes."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from common.auth_dependencies import AdminUser, CurrentUser, install_jwt_verifier
from common.jwks import StaticJwks
from common.jwt_verification import JwtVerifier
from common.problem import install_problem_handlers
from fastapi import FastAPI

from tests.support.jwt_tokens import AUDIENCE, ISSUER, TestSigningKeys

KEYS = TestSigningKeys()


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_jwt_verifier(
        app, JwtVerifier(StaticJwks(KEYS.jwks()), issuer=ISSUER, audience=AUDIENCE)
    )

    @app.get("/me")
    async def me(user: CurrentUser) -> dict[str, str]:
        return {"id": str(user.user_id), "role": user.role}

    @app.get("/admin")
    async def admin(user: AdminUser) -> dict[str, str]:
        return {"id": str(user.user_id)}

    return app


async def _get(path: str, token: str | None = None, scheme: str = "Bearer") -> httpx.Response:
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        return await client.get(path, headers=headers)


async def test_signed_in_user_reaches_the_route() -> None:
    resp = await _get("/me", KEYS.mint(role="driver"))
    assert resp.status_code == 200
    assert resp.json()["role"] == "driver"


def _expired() -> str:
    return KEYS.mint(exp=int(time.time()) - 600, iat=int(time.time()) - 900)


def _other_audience() -> str:
    return KEYS.mint(aud="other")


@pytest.mark.parametrize(
    ("token", "scheme", "code"),
    [
        (None, "Bearer", "token_missing"),
        ("abc", "Basic", "token_invalid"),
        ("not-a-jwt", "Bearer", "token_invalid"),
        (_expired, "Bearer", "token_expired"),
        (_other_audience, "Bearer", "token_invalid"),  # minted when the test runs, not collected
    ],
)
async def test_bad_credentials_are_401_problems(
    token: str | Callable[[], str] | None, scheme: str, code: str
) -> None:
    resp = await _get("/me", token() if callable(token) else token, scheme)
    assert resp.status_code == 401
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == code
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_driver_on_admin_route_is_403_insufficient_scope() -> None:
    resp = await _get("/admin", KEYS.mint(role="driver"))
    assert resp.status_code == 403
    assert resp.json()["code"] == "insufficient_scope"


async def test_admin_reaches_admin_route() -> None:
    resp = await _get("/admin", KEYS.mint(role="admin"))
    assert resp.status_code == 200
