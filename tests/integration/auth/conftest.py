"""Fixtures for the auth service against real Postgres/Redis/RabbitMQ and the fake Twilio."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from auth.account_handlers import promote_user
from auth.bootstrap import AuthDeps
from auth.main import create_app
from auth.phone_crypto import generate_key_material
from auth.settings import AuthSettings
from auth.signing_keys import generate_keyset_config
from fastapi import FastAPI

from tests.fakes.twilio.control import TwilioControl
from tests.support.isolation import RunInfra


@pytest.fixture(scope="session")
def auth_secrets() -> dict[str, str]:
    """Key material shared by every app instance of the run (so a "restart" keeps keys)."""
    keys, kid = generate_keyset_config("test-auth-1")
    return {
        "jwt_signing_keys": keys,
        "jwt_active_kid": kid,
        "refresh_token_pepper": secrets.token_urlsafe(48),
        "phone_lookup_key": secrets.token_urlsafe(48),
        "phone_encryption_keys": json.dumps({"k1": generate_key_material()}),
        "phone_encryption_active_key_id": "k1",
    }


SettingsFactory = Callable[..., AuthSettings]


@pytest.fixture
def auth_settings(
    infra: RunInfra, fake_twilio: TwilioControl, auth_secrets: dict[str, str]
) -> SettingsFactory:
    def build(**overrides: Any) -> AuthSettings:
        values: dict[str, Any] = {
            "env": "test",
            "database_url": infra.database_url,
            "redis_url": infra.redis_url,
            "redis_key_prefix": infra.redis_prefix,
            "rabbitmq_url": infra.rabbitmq_url,
            "otp_provider": "twilio_verify",
            "twilio_account_sid": fake_twilio.account_sid,
            "twilio_api_key_sid": fake_twilio.config.api_key_sid,
            "twilio_api_key_secret": fake_twilio.config.api_key_secret,
            "twilio_verify_service_sid": fake_twilio.verify_service_sid,
            "twilio_api_base": fake_twilio.url,
            "twilio_timeout_seconds": 5.0,  # the fake shares the test loop: margin
            **auth_secrets,
            **overrides,
        }
        return AuthSettings(**values)

    return build


class AuthClient:
    """An httpx client on one app instance, sending the gateway's client-IP header."""

    def __init__(self, client: httpx.AsyncClient, ip: str, app: FastAPI) -> None:
        self.http = client
        self.ip = ip
        self.app = app

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

    def _headers(self, token: str | None, ip: str | None) -> dict[str, str]:
        headers = {"X-Nerava-Client-Ip": ip or self.ip}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    async def post(
        self, path: str, body: Any = None, *, token: str | None = None, ip: str | None = None
    ) -> httpx.Response:
        return await self.http.post(path, json=body, headers=self._headers(token, ip))

    async def put(self, path: str, body: Any, *, token: str | None = None) -> httpx.Response:
        return await self.http.put(path, json=body, headers=self._headers(token, None))

    async def get(self, path: str, *, token: str | None = None) -> httpx.Response:
        return await self.http.get(path, headers=self._headers(token, None))

    async def start(self, phone: str, **kw: Any) -> httpx.Response:
        return await self.post("/v1/auth/otp/start", {"phone": phone}, **kw)

    async def verify(self, challenge_id: str, code: str, **kw: Any) -> httpx.Response:
        return await self.post(
            "/v1/auth/otp/verify", {"challenge_id": challenge_id, "code": code}, **kw
        )


def random_ip() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


def random_phone() -> str:
    return f"+1415{secrets.randbelow(10_000_000):07d}"


@asynccontextmanager
async def running(settings: AuthSettings, ip: str | None = None) -> AsyncIterator[AuthClient]:
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://auth") as client:
            yield AuthClient(client, ip or random_ip(), app)


@pytest.fixture
async def auth(auth_settings: SettingsFactory) -> AsyncIterator[AuthClient]:
    async with running(auth_settings()) as client:
        yield client


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
    phone_hash = auth.deps.phones.lookup_hash(phone).hex()
    await auth.deps.otp._client.delete(auth.deps.otp.phone_key(phone_hash, "cooldown"))


def problem(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Asserts a problem+json answer with ``status`` and ``code``; returns its body."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json", resp.headers
    body: dict[str, Any] = resp.json()
    assert body["code"] == code, body
    assert resp.headers["X-Error-Code"] == code
    return body


def assert_retry_after(resp: httpx.Response) -> int:
    body = resp.json()
    assert int(resp.headers["Retry-After"]) >= 1
    assert body["retry_after"] == int(resp.headers["Retry-After"])
    return int(body["retry_after"])
