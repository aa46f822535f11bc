"""SQLAlchemy tables of the sessions service, all in its own ``sessions`` schema."""

from __future__ import annotations

from common.database import schema_metadata

metadata = schema_metadata("sessions")
