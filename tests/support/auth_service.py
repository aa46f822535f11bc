"""The auth service in-process for tests: an app instance on the run's real Postgres/Redis/
RabbitMQ, a client sending the gateway's client-IP header, and a full sign-in.

The fixtures that build settings (``auth_settings``, ``auth``) live in
``tests/integration/auth/conftest.py``; this module is what tests import. ``auth.deps`` is the
running service's deps; ``auth.sql`` and ``auth.redis`` are the test's own connections to the
same database and Redis (to arrange or inspect state, never the service's). Every problem
answer a test receives is checked against the app's OpenAPI document (``documented_answers``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from auth.account_handlers import promote_user
from auth.deps import Deps
from auth.main import create_app
from auth.otp_state import OtpState
from auth.settings import AuthSettings
from common.database import make_engine
from common.openapi_errors import documented_codes
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes.twilio.control import TwilioControl
from tests.support.samples import random_ip, random_phone

__all__ = ["AuthClient", "SettingsFactory", "random_phone", "running", "sign_in"]

SettingsFactory = Callable[..., AuthSettings]


class AuthClient:
    """An httpx client on one app instance, sending the gateway's client-IP header.

    ``redis`` is the test's own connection to the service's Redis, to read or move OTP state
    the service keeps there (keys from ``otp_state.challenge_key`` / ``phone_key``); ``sql`` its
    own engine on the service's database.
    """

    def __init__(
        self, client: httpx.AsyncClient, ip: str, app: FastAPI, redis: Redis, sql: AsyncEngine
    ) -> None:
        self.http = client
        self.ip = ip
        self.app = app
        self.redis = redis
        self.sql = sql

    @property
    def deps(self) -> Deps:
        deps: Deps = self.app.state.deps
        return deps

    @property
    def otp_state(self) -> OtpState:
        """The running service's OTP state (the Redis adapter: it names its keys)."""
        otp = self.deps.otp
        assert isinstance(otp, OtpState)
        return otp

    def phone_key(self, phone: str, what: str) -> str:
        """The OTP state's Redis key ``what`` of ``phone`` (cooldown, lock, fails ...)."""
        phone_hash = self.deps.phones.lookup_hash(phone).hex()
        return self.otp_state.phone_key(phone_hash, what)

    async def make_user(self, phone: str, role: str) -> None:
        """Creates or promotes a user as the operator command does."""
        await promote_user(self.deps, phone=phone, role=role)

    def headers(self, token: str | None = None, ip: str | None = None) -> dict[str, str]:
        """What every request carries: the client IP (this client's unless ``ip``), a token."""
        headers = {"X-Nerava-Client-Ip": ip or self.ip}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    async def post(
        self, path: str, body: Any = None, *, token: str | None = None, ip: str | None = None
    ) -> httpx.Response:
        return await self.http.post(path, json=body, headers=self.headers(token, ip))

    async def put(self, path: str, body: Any, *, token: str | None = None) -> httpx.Response:
        return await self.http.put(path, json=body, headers=self.headers(token))

    async def get(self, path: str, *, token: str | None = None) -> httpx.Response:
        return await self.http.get(path, headers=self.headers(token))

    async def start(self, phone: str, **kw: Any) -> httpx.Response:
        return await self.post("/v1/auth/otp/start", {"phone": phone}, **kw)

    async def verify(self, challenge_id: str, code: str, **kw: Any) -> httpx.Response:
        return await self.post(
            "/v1/auth/otp/verify", {"challenge_id": challenge_id, "code": code}, **kw
        )


def _template(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)) + "$")


def documented_answers(app: FastAPI) -> Callable[[httpx.Response], Awaitable[None]]:
    """An httpx response hook: every problem answer of an operation in the app's OpenAPI must
    be documented there, its status with its ``code`` (so the whole auth suite checks it)."""
    document = app.openapi()
    operations = [
        (_template(path), method.upper(), op)
        for path, item in document["paths"].items()
        for method, op in item.items()
    ]

    async def check(response: httpx.Response) -> None:
        request = response.request
        if response.status_code < 400 or not request.url.path.startswith("/v1/"):
            return
        for pattern, method, op in operations:
            if method == request.method and pattern.match(request.url.path):
                await response.aread()
                code = response.json().get("code")
                documented = op["responses"].get(str(response.status_code))
                assert documented is not None and code in documented_codes(documented), (
                    f"{request.method} {request.url.path} answered {response.status_code} "
                    f"{code}, which its OpenAPI operation does not document"
                )
                return

    return check


@asynccontextmanager
async def running(settings: AuthSettings, ip: str | None = None) -> AsyncIterator[AuthClient]:
    """``async with running(settings) as auth:`` one app instance through its lifespan."""
    app = create_app(settings)
    redis = Redis.from_url(settings.redis_url)
    sql = make_engine(settings, pool_size=2, max_overflow=2)
    hooks = {"response": [documented_answers(app)]}
    try:
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://auth", event_hooks=hooks
            ) as client:
                yield AuthClient(client, ip or random_ip(), app, redis, sql)
    finally:
        await redis.aclose()
        await sql.dispose()


async def sign_in(auth: AuthClient, fake_twilio: TwilioControl, phone: str | None = None) -> Any:
    """Start + verify with the code the fake Twilio sent; returns the token response body."""
    phone = phone or random_phone()
    started = await auth.start(phone)
    assert started.status_code == 202, started.text
    code = await fake_twilio.last_code_for(phone)
    verified = await auth.verify(started.json()["challenge_id"], code)
    assert verified.status_code == 200, verified.text
    return verified.json()


async def end_cooldown(auth: AuthClient, phone: str) -> None:
    """Lets ``phone`` request its next code at once (the resend cooldown is real time)."""
    await auth.redis.delete(auth.phone_key(phone, "cooldown"))
