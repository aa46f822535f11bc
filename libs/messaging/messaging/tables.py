"""The outbox, inbox and failed_messages tables, added to a service's own MetaData (schema).

A service's ``tables.py``::

    metadata = schema_metadata("payments")
    messaging = add_messaging_tables(metadata)

and its Alembic migration creates them with ``messaging.schema_v1.upgrade(schema)`` (0002).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table
    failed_messages: Table

    @property
    def schema(self) -> str | None:
        return self.outbox.schema


def add_messaging_tables(metadata: MetaData) -> MessagingTables:
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("message_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("message_type", String(200), nullable=False),
        Column("exchange", String(255), nullable=False),
        Column("routing_key", String(255), nullable=False),
        Column("mandatory", Boolean, nullable=False),
        Column("correlation_id", String(128)),
        Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("body", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("available_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("claimed_until", DateTime(timezone=True)),
        Column("claim_token", UUID(as_uuid=True)),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text),
        Column("sent_at", DateTime(timezone=True)),
    )
    Index("ix_outbox_pending", outbox.c.id, postgresql_where=outbox.c.sent_at.is_(None))
    Index("ix_outbox_sent_at", outbox.c.sent_at, postgresql_where=outbox.c.sent_at.isnot(None))

    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(255), primary_key=True),
        Column("message_id", UUID(as_uuid=True), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    Index("ix_inbox_processed_at", inbox.c.processed_at)

    failed = Table(
        "failed_messages",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("queue", String(255), nullable=False),
        Column("message_id", String(255), nullable=False),
        Column("message_type", String(200)),
        Column("exchange", String(255)),
        Column("routing_key", String(255)),
        Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("body", LargeBinary, nullable=False),
        Column("content_type", String(100)),
        Column("failure_kind", String(40), nullable=False),
        Column("exception_type", String(300)),
        Column("exception_message", Text),
        Column("fingerprint", String(64), nullable=False),
        Column("first_failed_at", DateTime(timezone=True), nullable=False),
        Column("last_failed_at", DateTime(timezone=True), nullable=False),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("failure_count", Integer, nullable=False, server_default=text("1")),
        Column("status", String(20), nullable=False, server_default=text("'unresolved'")),
        Column("replay_count", Integer, nullable=False, server_default=text("0")),
        Column("last_replayed_at", DateTime(timezone=True)),
        Column("last_replayed_by", String(255)),
        Column("notes", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        UniqueConstraint("queue", "message_id"),
    )
    Index("ix_failed_messages_status_last", failed.c.status, failed.c.last_failed_at)
    Index("ix_failed_messages_fingerprint", failed.c.fingerprint)
    return MessagingTables(outbox=outbox, inbox=inbox, failed_messages=failed)
