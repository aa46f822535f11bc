"""SQLAlchemy tables of the notifications service, all in its own ``notifications`` schema."""

from __future__ import annotations

from common.database import schema_metadata
from messaging.tables import add_messaging_tables

metadata = schema_metadata("notifications")
messaging = add_messaging_tables(metadata)
