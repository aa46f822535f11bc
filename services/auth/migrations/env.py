"""Alembic environment of the auth service: its own schema and version table."""

from auth.tables import metadata
from common.migrations import run_service_migrations
from common.settings import DatabaseSettings

run_service_migrations(DatabaseSettings(db_schema="auth"), metadata)
