"""Fixtures for the sessions service against the run's real Postgres, Redis and RabbitMQ."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sessions.phone_crypto import generate_key_material
from sessions.settings import SessionsSettings
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.support.isolation import RunInfra
from tests.support.jwt_tokens import TestSigningKeys
from tests.support.sessions_service import (
    SessionsService,
    SettingsFactory,
    running,
)


@pytest.fixture(scope="session")
def signing_keys() -> TestSigningKeys:
    return TestSigningKeys(kid="sessions-test")


@pytest.fixture(scope="session")
def phone_secrets() -> dict[str, str]:
    return {
        "phone_encryption_keys": json.dumps({"k1": generate_key_material()}),
        "phone_encryption_active_key_id": "k1",
        "phone_lookup_key": uuid.uuid4().hex + uuid.uuid4().hex,
    }


@pytest.fixture(scope="session")
def sessions_settings(infra: RunInfra, phone_secrets: dict[str, str]) -> SettingsFactory:
    def build(**overrides: Any) -> SessionsSettings:
        values: dict[str, Any] = {
            "env": "test",
            "log_json": False,
            "database_url": infra.database_url,
            "redis_url": infra.redis_url,
            "redis_key_prefix": infra.redis_prefix,
            "rabbitmq_url": infra.rabbitmq_url,
            "housekeeping_enabled": False,
            "outbox_poll_seconds": 0.5,
            "graceful_timeout_seconds": 10,
            **phone_secrets,
            **overrides,
        }
        return SessionsSettings(**values)

    return build


@pytest.fixture(scope="session")
async def service(
    sessions_settings: SettingsFactory, signing_keys: TestSigningKeys
) -> AsyncIterator[SessionsService]:
    async with running(sessions_settings(), signing_keys) as svc:
        yield svc


@pytest.fixture(scope="session")
async def db(infra: RunInfra) -> AsyncIterator[AsyncEngine]:
    """A direct engine on the run's database (to look at rows as an operator would)."""
    engine = create_async_engine(
        infra.database_url,
        pool_size=30,
        max_overflow=10,
        connect_args={"server_settings": {"search_path": "sessions,public"}},
    )
    try:
        yield engine
    finally:
        await engine.dispose()
