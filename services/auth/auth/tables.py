"""SQLAlchemy tables of the auth service, all in its own ``auth`` schema."""

from __future__ import annotations

from common.database import schema_metadata
from messaging.tables import add_messaging_tables
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import UUID

metadata = schema_metadata("auth")
messaging = add_messaging_tables(metadata)

users = Table(
    "users",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("public_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("role", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="active"),
    Column("phone_hash", LargeBinary(32), nullable=False, unique=True),
    Column("phone_ciphertext", LargeBinary, nullable=False),
    Column("phone_key_id", Text, nullable=False),
    Column("analytics_consent", Boolean, nullable=False, server_default="false"),
    Column("marketing_consent", Boolean, nullable=False, server_default="false"),
    Column("consent_policy_version", Text),
    Column("consent_updated_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("role IN ('driver', 'merchant', 'admin')", name="role"),
    CheckConstraint("status IN ('active', 'disabled')", name="status"),
)

login_sessions = Table(
    "login_sessions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", BigInteger, ForeignKey("auth.users.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_refreshed_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_reason", Text),
    Index("ix_login_sessions_user_id_active", "user_id", postgresql_where="revoked_at IS NULL"),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column(
        "session_id",
        UUID(as_uuid=True),
        ForeignKey("auth.login_sessions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("token_hash", LargeBinary(32), nullable=False, unique=True),
    Column("parent_id", BigInteger, ForeignKey("auth.refresh_tokens.id", ondelete="CASCADE")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    # Set once, when this token is exchanged for its child; grace is measured from it and
    # nothing else (a family revocation never touches it).
    Column("rotated_at", DateTime(timezone=True)),
    Index("ix_refresh_tokens_session_id", "session_id"),
    Index("ix_refresh_tokens_parent_id", "parent_id", unique=True),
)
