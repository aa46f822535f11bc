"""The notifications service in-process for tests: settings, the running app with a test
engine beside it, and publishing a message as a producer's relay would."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aio_pika
import httpx
from aio_pika.abc import AbstractChannel
from asgi_lifespan import LifespanManager
from common.auth_dependencies import install_jwt_verifier
from common.jwks import StaticJwks
from common.jwt_verification import JwtVerifier
from fastapi import FastAPI
from messaging.envelope import Envelope
from messaging.topology import COMMANDS_EXCHANGE, EVENTS_EXCHANGE
from notifications.deps import Deps
from notifications.main import create_app
from notifications.settings import NotificationsSettings
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.support.jwt_tokens import AUDIENCE, ISSUER, TestSigningKeys

TEST_TIERS = ["1s", "2s", "3s"]


SettingsFactory = Callable[..., NotificationsSettings]


# Nothing listens there: callbacks the fake Twilio posts to it are refused at once.
UNREACHABLE_PUBLIC_BASE = "http://127.0.0.1:9"


@dataclass
class Notifications:
    """One running app instance: its HTTP client, its deps and an admin token."""

    app: FastAPI
    http: httpx.AsyncClient
    keys: TestSigningKeys
    _engine: AsyncEngine
    stopped: bool = False  # set as the service stops: its engine is then disposed

    @property
    def deps(self) -> Deps:
        deps: Deps = self.app.state.deps
        return deps

    @property
    def engine(self) -> AsyncEngine:
        """The test's own connections, to read what the service stored: only inside the
        ``async with running(...)`` block. Its pool is disposed on the way out, and a connection
        opened after that would never be closed (the garbage collector then reports it as an
        unclosed asyncpg connection, during some later test)."""
        if self.stopped:
            raise RuntimeError("the service has stopped: read what it stored inside its block")
        return self._engine

    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys.mint(role='admin')}"}


@asynccontextmanager
async def running(settings: NotificationsSettings) -> AsyncIterator[Notifications]:
    keys = TestSigningKeys()
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=60) as manager:
        install_jwt_verifier(
            app, JwtVerifier(StaticJwks(keys.jwks()), issuer=ISSUER, audience=AUDIENCE)
        )
        transport = httpx.ASGITransport(app=manager.app)
        engine = create_async_engine(settings.database_url, pool_size=2, max_overflow=2)
        service: Notifications | None = None
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://notifications"
            ) as http:
                service = Notifications(app, http, keys, engine)
                yield service
        finally:
            if service is not None:
                service.stopped = True
            await engine.dispose()


async def publish(channel: AbstractChannel, envelope: Envelope, *, command: bool = False) -> None:
    """Publishes ``envelope`` as its producer's relay would (persistent, routing key = type)."""
    exchange = await channel.get_exchange(
        COMMANDS_EXCHANGE if command else EVENTS_EXCHANGE, ensure=False
    )
    await exchange.publish(
        aio_pika.Message(
            envelope.to_bytes(),
            message_id=str(envelope.message_id),
            type=envelope.type,
            content_type="application/json",
            app_id=envelope.producer,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        ),
        routing_key=envelope.type,
        mandatory=command,
    )
