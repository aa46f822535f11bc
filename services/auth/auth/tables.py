"""SQLAlchemy tables of the auth service, all in its own ``auth`` schema."""

from __future__ import annotations

from common.database import schema_metadata
from common.messaging.tables import add_messaging_tables

metadata = schema_metadata("auth")
messaging = add_messaging_tables(metadata)
