"""SQLAlchemy tables of the notifications service, all in its own ``notifications`` schema."""

from __future__ import annotations

from common.database import schema_metadata
from messaging.tables import add_messaging_tables
from sqlalchemy import Boolean, Column, DateTime, Table, func
from sqlalchemy.dialects.postgresql import UUID

metadata = schema_metadata("notifications")
messaging = add_messaging_tables(metadata)

# The projection of each user's analytics consent, fed by auth's ``user.consent_changed.v1``.
# One row per user; ``changed_at`` is auth's time of the change and only ever moves forward.
user_consent = Table(
    "user_consent",
    metadata,
    Column("user_id", UUID(as_uuid=True), primary_key=True),
    Column("analytics", Boolean, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
