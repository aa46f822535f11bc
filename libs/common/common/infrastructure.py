"""Opens and closes a service's connections to Postgres and Redis inside its lifespan.

Each connection registers its readiness check, so ``/readyz`` names the dependency that is down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from common.database import database_check, make_engine, make_session_factory
from common.health import register_readiness_check
from common.redis_client import KeySpace, make_redis, redis_check
from common.settings import DatabaseSettings, RedisSettings
from common.sql_spans import trace_statements


@dataclass(frozen=True)
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Cache:
    client: Redis
    keys: KeySpace


@asynccontextmanager
async def open_database(
    app: FastAPI, settings: DatabaseSettings, **engine_options: Any
) -> AsyncIterator[Database]:
    """``engine_options`` override ``make_engine``'s, e.g. ``pool_pre_ping=False``."""
    engine = make_engine(settings, **engine_options)
    trace_statements(engine)
    register_readiness_check(app, "postgres", database_check(engine))
    try:
        yield Database(engine=engine, sessions=make_session_factory(engine))
    finally:
        await engine.dispose()


@asynccontextmanager
async def open_cache(app: FastAPI, settings: RedisSettings) -> AsyncIterator[Cache]:
    client = make_redis(settings)
    register_readiness_check(app, "redis", redis_check(client))
    try:
        yield Cache(client=client, keys=KeySpace(settings.redis_key_prefix))
    finally:
        await client.aclose()
