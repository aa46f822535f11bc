"""Async SQLAlchemy engine and session factory, and the naming convention for constraints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from common.settings import DatabaseSettings


@dataclass(frozen=True)
class Database:
    """A service's engine and its session factory (``expire_on_commit=False``)."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def schema_metadata(schema: str) -> MetaData:
    """The MetaData of one service's schema, with the shared naming convention."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def make_engine(settings: DatabaseSettings, **overrides: Any) -> AsyncEngine:
    options: dict[str, Any] = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_pre_ping": True,
        "connect_args": {
            "server_settings": {
                "search_path": f"{settings.db_schema},public",
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "application_name": f"nerava-{settings.db_schema}",
            },
            "timeout": 5,
        },
    }
    options.update(overrides)
    return create_async_engine(settings.database_url, **options)


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def database_check(engine: AsyncEngine) -> Any:
    async def check() -> dict[str, Any] | None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return None

    return check
