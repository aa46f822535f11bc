"""SQLAlchemy tables of the notifications service, all in its own ``notifications`` schema."""

from __future__ import annotations

from common.database import schema_metadata
from messaging.tables import add_messaging_tables
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

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

# ---- SMS: one delivery per ``delivery_key``; its attempts; Twilio's status callbacks.
# ``status_rank`` orders statuses so callbacks only move a delivery forward (sms_status.py).
sms_deliveries = Table(
    "sms_deliveries",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("delivery_key", Text, nullable=False, unique=True),
    Column("reference_kind", Text, nullable=False),
    Column("reference_id", Text, nullable=False),
    Column("template", Text, nullable=False),
    Column("reply_code", Text),
    Column("body", Text, nullable=False),
    Column("phone_key_id", Text, nullable=False),
    Column("phone_ciphertext", LargeBinary, nullable=False),
    Column("phone_hash", LargeBinary(32), nullable=False),
    Column("status", Text, nullable=False),
    Column("status_rank", SmallInteger, nullable=False),
    Column("error_code", Integer),
    Column("permanent", Boolean, nullable=False, server_default="false"),
    Column("failure_reason", Text),
    Column("message_sid", Text),
    Column("resends", Integer, nullable=False, server_default="0"),
    Column("replied_at", DateTime(timezone=True)),
    # W3C traceparent of the send that created it: Twilio's callbacks continue that trace
    Column("traceparent", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_sms_deliveries_phone_hash_created_at", "phone_hash", "created_at"),
    Index("ix_sms_deliveries_created_at", "created_at"),
    Index("ix_sms_deliveries_reference", "reference_kind", "reference_id"),
    Index(
        "ix_sms_deliveries_message_sid",
        "message_sid",
        unique=True,
        postgresql_where=text("message_sid IS NOT NULL"),
    ),
)

sms_attempts = Table(
    "sms_attempts",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column(
        "delivery_id",
        UUID(as_uuid=True),
        ForeignKey("notifications.sms_deliveries.id"),
        nullable=False,
    ),
    Column("n", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("outcome", Text, nullable=False),
    Column("message_sid", Text),
    Column("http_status", Integer),
    Column("error_code", Integer),
    UniqueConstraint("delivery_id", "n", name="uq_sms_attempts_delivery_id_n"),
    Index(
        "ix_sms_attempts_message_sid",
        "message_sid",
        unique=True,
        postgresql_where=text("message_sid IS NOT NULL"),
    ),
)

sms_status_callbacks = Table(
    "sms_status_callbacks",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("message_sid", Text, nullable=False),
    Column("message_status", Text, nullable=False),
    Column("error_code", Integer),
    Column("delivery_id", UUID(as_uuid=True)),
    Column("attempt_n", Integer),
    Column("applied", Boolean, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint(
        "message_sid", "message_status", name="uq_sms_status_callbacks_message_sid_message_status"
    ),
    Index("ix_sms_status_callbacks_delivery_id", "delivery_id"),
)

# STOP / START mirrored from inbound SMS (and Twilio's 21610): no send to an opted-out phone.
phone_optouts = Table(
    "phone_optouts",
    metadata,
    Column("phone_hash", LargeBinary(32), primary_key=True),
    Column("opted_out", Boolean, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

inbound_sms = Table(
    "inbound_sms",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("message_sid", Text, nullable=False, unique=True),
    Column("phone_key_id", Text, nullable=False),
    Column("phone_ciphertext", LargeBinary, nullable=False),
    Column("phone_hash", LargeBinary(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("keyword", Text, nullable=False),
    Column("reply_code", Text),
    Column("delivery_id", UUID(as_uuid=True)),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

# What the analytics sink kept: events of consenting users, and anonymous ones without personal
# data. ``message_id`` is the publisher's envelope id (a redelivery is stored once).
analytics_events = Table(
    "analytics_events",
    metadata,
    Column("message_id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("user_id", UUID(as_uuid=True)),
    Column("producer", Text, nullable=False),
    Column("properties", JSONB, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_analytics_events_occurred_at", "occurred_at"),
)
