"""SQLAlchemy tables of the auth service, all in its own ``auth`` schema."""

from __future__ import annotations

from common.database import schema_metadata

metadata = schema_metadata("auth")
