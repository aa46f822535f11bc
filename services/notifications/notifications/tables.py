"""SQLAlchemy tables of the notifications service, all in its own ``notifications`` schema."""

from __future__ import annotations

from common.database import schema_metadata

metadata = schema_metadata("notifications")
