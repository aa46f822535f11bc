"""SQLAlchemy tables of the payments service, all in its own ``payments`` schema."""

from __future__ import annotations

from common.database import schema_metadata
from messaging.tables import add_messaging_tables

metadata = schema_metadata("payments")
messaging = add_messaging_tables(metadata)
