"""SQLAlchemy tables of the payments service, all in its own ``payments`` schema."""

from __future__ import annotations

from common.database import schema_metadata

metadata = schema_metadata("payments")
