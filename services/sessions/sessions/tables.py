"""SQLAlchemy tables of the sessions service, all in its own ``sessions`` schema.

The DDL lives in the migrations (partial indexes with literal predicates, the geo function);
these definitions are what queries are built from.
"""

from __future__ import annotations

from common.database import schema_metadata
from messaging.tables import add_messaging_tables
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = schema_metadata("sessions")
messaging = add_messaging_tables(metadata)


def _ts(name: str, *, nullable: bool = True) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


chargers = Table(
    "chargers",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("external_id", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("network", Text, nullable=False),
    Column("lat", Float, nullable=False),
    Column("lng", Float, nullable=False),
    Column("connectors", JSONB, nullable=False),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
)

merchants = Table(
    "merchants",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("owner_user_id", UUID(as_uuid=True), nullable=False),
    Column("name", Text, nullable=False),
    Column("lat", Float, nullable=False),
    Column("lng", Float, nullable=False),
    Column("phone_key_id", Text, nullable=False),
    Column("phone_ciphertext", LargeBinary, nullable=False),
    Column("phone_hash", LargeBinary, nullable=False),
    Column("offer_title", Text, nullable=False),
    Column("billing_amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("reward_nova", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
)

exclusive_sessions = Table(
    "exclusive_sessions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("merchant_id", UUID(as_uuid=True), ForeignKey(merchants.c.id), nullable=False),
    Column("charger_id", UUID(as_uuid=True), ForeignKey(chargers.c.id), nullable=False),
    Column("status", Text, nullable=False),
    Column("offer_code", Text, nullable=False),
    Column("reply_code", Text, nullable=False),
    Column("billing_amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("reward_nova", Integer, nullable=False),
    Column("notify_status", Text),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
    _ts("expires_at", nullable=False),
    _ts("arrived_at"),
    _ts("merchant_notified_at"),
    _ts("renotified_at"),
    _ts("ended_at"),
    Column("ended_reason", Text),
    Column("confirmed_via", Text),
)

billing_events = Table(
    "billing_events",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "session_id",
        UUID(as_uuid=True),
        ForeignKey(exclusive_sessions.c.id),
        nullable=False,
        unique=True,
    ),
    Column("merchant_id", UUID(as_uuid=True), ForeignKey(merchants.c.id), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    _ts("created_at", nullable=False),
)

admin_audit = Table(
    "admin_audit",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("actor_user_id", UUID(as_uuid=True), nullable=False),
    Column("action", Text, nullable=False),
    Column("target_kind", Text, nullable=False),
    Column("target_id", UUID(as_uuid=True), nullable=False),
    Column("details", JSONB, nullable=False),
    Column("request_id", Text),
    _ts("at", nullable=False),
)
