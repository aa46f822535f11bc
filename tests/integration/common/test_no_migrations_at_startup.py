"""A service never migrates at startup: started on an empty database, it creates no schema.

(The old system ran migrations inside the app's startup; here they are a separate command.)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
import pytest
from asgi_lifespan import LifespanManager
from sessions.main import create_app
from sessions.settings import SessionsSettings

from tests.support.isolation import PG_ADMIN_DSN, PG_HOST_DSN, RunInfra, new_run_id


@pytest.fixture
async def empty_database() -> AsyncIterator[str]:
    name = f"nerava_test_{new_run_id()}_empty"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_starting_a_service_leaves_an_empty_database_empty(
    infra: RunInfra, empty_database: str
) -> None:
    settings = SessionsSettings(
        env="test",  # type: ignore[arg-type]
        database_url=f"{PG_HOST_DSN}/{empty_database}",
        redis_url=infra.redis_url,
        redis_key_prefix=infra.redis_prefix,
        rabbitmq_url=infra.rabbitmq_url,
    )
    app = create_app(settings)
    # Startup may well fail without its tables; what matters is that it never creates them.
    with contextlib.suppress(Exception):
        async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
            pass
    conn = await asyncpg.connect(PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{empty_database}")
    try:
        schemas = await conn.fetchval(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'sessions'"
        )
        tables = await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'alembic_version'"
        )
    finally:
        await conn.close()
    assert schemas == 0
    assert tables == 0
