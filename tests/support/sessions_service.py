"""The sessions service in-process for tests: settings, the running app, places and outbox reads."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from common.auth_dependencies import install_jwt_verifier
from common.jwks import StaticJwks
from common.jwt_verification import JwtVerifier
from fastapi import FastAPI
from sessions.deps import Deps
from sessions.main import create_app
from sessions.settings import SessionsSettings
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.jwt_tokens import AUDIENCE, ISSUER, TestSigningKeys

SettingsFactory = Callable[..., SessionsSettings]


class Actor:
    """A signed-in user: a driver, a merchant owner or an admin."""

    def __init__(self, keys: TestSigningKeys, role: str, user_id: uuid.UUID | None = None):
        self.user_id = user_id or uuid.uuid4()
        self.role = role
        self.token = keys.mint(sub=str(self.user_id), role=role)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class SessionsService:
    """An httpx client on one running app, plus the actors and data builders tests need."""

    def __init__(self, http: httpx.AsyncClient, app: FastAPI, keys: TestSigningKeys) -> None:
        self.http = http
        self.app = app
        self.keys = keys
        self.admin = self.actor("admin")

    @property
    def deps(self) -> Deps:
        deps: Deps = self.app.state.deps
        return deps

    def actor(self, role: str) -> Actor:
        return Actor(self.keys, role)

    async def call(
        self, method: str, path: str, actor: Actor | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if actor is not None:
            headers.update(actor.headers)
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def add_charger(self, lat: float, lng: float, **fields: Any) -> dict[str, Any]:
        external_id = fields.pop("external_id", f"ext-{uuid.uuid4().hex}")
        charger = {
            "external_id": external_id,
            "name": fields.pop("name", "Test charger"),
            "network": fields.pop("network", "TestNet"),
            "lat": lat,
            "lng": lng,
            "connectors": fields.pop("connectors", [{"type": "CCS", "power_kw": 150}]),
        }
        resp = await self.call(
            "POST", "/v1/admin/chargers/import", self.admin, json={"chargers": [charger]}
        )
        assert resp.status_code == 200, resp.text
        near = await self.call(
            "GET",
            "/v1/chargers/nearby",
            self.admin,
            params={"lat": lat, "lng": lng, "radius_m": 50, "limit": 50},
        )
        found = [c for c in near.json()["chargers"] if c["external_id"] == external_id]
        assert found, near.text
        return dict(found[0])

    async def add_merchant(
        self, owner: Actor, lat: float, lng: float, **fields: Any
    ) -> dict[str, Any]:
        body = {
            "owner_user_id": str(owner.user_id),
            "name": "Cafe " + uuid.uuid4().hex[:6],
            "lat": lat,
            "lng": lng,
            "notification_phone": random_phone(),
            "offer_title": "Free coffee",
            "billing_amount_minor": 250,
            "currency": "USD",
            "reward_nova": 10,
            **fields,
        }
        resp = await self.call("POST", "/v1/admin/merchants", self.admin, json=body)
        assert resp.status_code == 201, resp.text
        created: dict[str, Any] = resp.json()
        created["notification_phone"] = body["notification_phone"]
        return created

    async def place(self) -> Place:
        """A charger and a merchant 100 m away, at a random spot no other test uses."""
        lat, lng = random_spot()
        owner = self.actor("merchant")
        charger = await self.add_charger(lat, lng)
        merchant = await self.add_merchant(owner, lat + 0.0009, lng)
        return Place(charger=charger, merchant=merchant, owner=owner)

    async def activate(self, driver: Actor, place: Place) -> httpx.Response:
        return await self.call(
            "POST",
            "/v1/exclusive-sessions",
            driver,
            json={"merchant_id": place.merchant["id"], "charger_id": place.charger["id"]},
        )


class Place:
    def __init__(self, charger: dict[str, Any], merchant: dict[str, Any], owner: Actor) -> None:
        self.charger = charger
        self.merchant = merchant
        self.owner = owner


def random_phone() -> str:
    return f"+1415{random.randrange(10_000_000):07d}"


def random_spot() -> tuple[float, float]:
    """Somewhere on land-or-sea far from the poles and the antimeridian (those have own tests)."""
    return random.uniform(-60, 60), random.uniform(-170, 170)


@asynccontextmanager
async def running(
    settings: SessionsSettings, keys: TestSigningKeys, **overrides: Any
) -> AsyncIterator[SessionsService]:
    app = create_app(settings, **overrides)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=60) as manager:
        install_jwt_verifier(
            app, JwtVerifier(StaticJwks(keys.jwks()), issuer=ISSUER, audience=AUDIENCE)
        )
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://sessions") as client:
            yield SessionsService(client, app, keys)


async def outbox_data(engine: AsyncEngine, message_type: str, about: str) -> list[dict[str, Any]]:
    """The ``data`` of each outbox message of ``message_type`` whose body mentions ``about``."""
    from sqlalchemy import text

    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT convert_from(body, 'UTF8')::jsonb -> 'data' FROM outbox "
                "WHERE message_type = :t AND convert_from(body, 'UTF8') LIKE :about ORDER BY id"
            ),
            {"t": message_type, "about": f"%{about}%"},
        )
        return [dict(r[0]) for r in rows]
