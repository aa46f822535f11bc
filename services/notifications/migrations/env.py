"""Alembic environment of the notifications service: its own schema and version table."""

from common.migrations import run_service_migrations
from common.settings import DatabaseSettings
from notifications.tables import metadata

run_service_migrations(DatabaseSettings(db_schema="notifications"), metadata)
