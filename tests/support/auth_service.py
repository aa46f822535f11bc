"""The auth service in-process for tests: an app instance on the run's real Postgres/Redis/
RabbitMQ, a client sending the gateway's client-IP header, and a full sign-in.

The fixtures that build settings (``auth_settings``, ``auth``) live in
``tests/integration/auth/conftest.py``; this module is what tests import.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from auth.account_handlers import promote_user
from auth.bootstrap import AuthDeps
from auth.main import create_app
from auth.settings import AuthSettings
from fastapi import FastAPI
from redis.asyncio import Redis

from tests.fakes.twilio.control import TwilioControl
from tests.support.samples import random_ip, random_phone

SettingsFactory = Callable[..., AuthSettings]


class AuthClient:
    """An httpx client on one app instance, sending the gateway's client-IP header.

    ``redis`` is the test's own connection to the service's Redis, to read or move OTP state
    the service keeps there (keys from ``deps.otp.challenge_key`` / ``phone_key``).
    """

    def __init__(self, client: httpx.AsyncClient, ip: str, app: FastAPI, redis: Redis) -> None:
        self.http = client
        self.ip = ip
        self.app = app
        self.redis = redis

    @property
    def deps(self) -> AuthDeps:
        deps: AuthDeps = self.app.state.auth
        return deps

    async def make_user(self, phone: str, role: str) -> None:
        """Creates or promotes a user as the operator command does."""
        deps = self.deps
        await promote_user(
            deps.database,
            deps.phones,
            deps.outbox,
            allowed_country_codes=["1"],
            phone=phone,
            role=role,
        )

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


@asynccontextmanager
async def running(settings: AuthSettings, ip: str | None = None) -> AsyncIterator[AuthClient]:
    """``async with running(settings) as auth:`` one app instance through its lifespan."""
    app = create_app(settings)
    redis = Redis.from_url(settings.redis_url)
    try:
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://auth") as client:
                yield AuthClient(client, ip or random_ip(), app, redis)
    finally:
        await redis.aclose()


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
    phone_hash = auth.deps.phones.lookup_hash(phone).hex()
    await auth.redis.delete(auth.deps.otp.phone_key(phone_hash, "cooldown"))
