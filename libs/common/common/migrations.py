"""The Alembic environment every service's ``migrations/env.py`` delegates to.

Each service keeps its tables and its version table in its own Postgres schema. Migrations run
as a separate command (``make migrate`` or the compose ``migrate`` jobs), never at startup.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from common.settings import DatabaseSettings


def _configure_and_run(connection: Connection, schema: str, metadata: MetaData | None) -> None:
    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    connection.commit()
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table="alembic_version",
        version_table_schema=schema,
        include_schemas=False,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(settings: DatabaseSettings, metadata: MetaData | None) -> None:
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure_and_run, settings.db_schema, metadata)
    finally:
        await engine.dispose()


def run_service_migrations(settings: DatabaseSettings, metadata: MetaData | None) -> None:
    """Runs from ``env.py``; ``-x database_url=…`` on the alembic command line overrides the URL."""
    overrides = context.get_x_argument(as_dictionary=True)
    if "database_url" in overrides:
        settings = settings.model_copy(update={"database_url": overrides["database_url"]})
    if context.is_offline_mode():
        context.configure(
            url=settings.database_url,
            target_metadata=metadata,
            version_table_schema=settings.db_schema,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(settings, metadata))
