"""The auth service under test: an httpx client on one app instance, and what tests use with it.

``running(settings)`` starts the app (lifespan included) and yields an :class:`AuthClient` that
sends the gateway's client-IP header; ``auth.deps`` is the running service's deps, ``auth.sql``
and ``auth.redis`` are the test's own connections to the same database and Redis (to arrange
or inspect state, never the service's).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
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
from common.redis_client import make_redis
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes.twilio.control import TwilioControl
from tests.support.samples import random_ip, random_phone

SettingsFactory = Callable[..., AuthSettings]


class AuthClient:
    """An httpx client on one app instance, sending the gateway's client-IP header."""

    def __init__(
        self, client: httpx.AsyncClient, ip: str, app: FastAPI, sql: AsyncEngine, redis: Redis
    ) -> None:
        self.http = client
        self.ip = ip
        self.app = app
        self.sql = sql
        self.redis = redis

    @property
    def deps(self) -> Deps:
        deps: Deps = self.app.state.deps
        return deps

    async def make_user(self, phone: str, role: str) -> None:
        """Creates or promotes a user as the operator command does."""
        await promote_user(self.deps, phone=phone, role=role)

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
        return await self.http.put(path, json=body, headers=self.headers(token, None))

    async def get(self, path: str, *, token: str | None = None) -> httpx.Response:
        return await self.http.get(path, headers=self.headers(token, None))

    async def start(self, phone: str, **kw: Any) -> httpx.Response:
        return await self.post("/v1/auth/otp/start", {"phone": phone}, **kw)

    async def verify(self, challenge_id: str, code: str, **kw: Any) -> httpx.Response:
        return await self.post(
            "/v1/auth/otp/verify", {"challenge_id": challenge_id, "code": code}, **kw
        )


@asynccontextmanager
async def running(settings: AuthSettings, ip: str | None = None) -> AsyncIterator[AuthClient]:
    app = create_app(settings)
    sql = make_engine(settings, pool_size=2, max_overflow=2)
    redis = make_redis(settings)
    try:
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://auth") as client:
                yield AuthClient(client, ip or random_ip(), app, sql, redis)
    finally:
        await redis.aclose()
        await sql.dispose()


async def sign_in(auth: AuthClient, fake_twilio: TwilioControl, phone: str | None = None) -> Any:
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
