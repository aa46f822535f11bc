"""SQLAlchemy tables of the sessions service, all in its own ``sessions`` schema."""

from __future__ import annotations

from common.database import schema_metadata
from messaging.tables import add_messaging_tables

metadata = schema_metadata("sessions")
messaging = add_messaging_tables(metadata)
