"""Frozen DDL of the messaging tables, version 1, for each service's ``0002_messaging`` migration.

Never edit this after release: a change to the tables is a new ``schema_v2`` with its own
migration in every service, so old migrations keep producing what they produced.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade(schema: str) -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("message_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("message_type", sa.String(200), nullable=False),
        sa.Column("exchange", sa.String(255), nullable=False),
        sa.Column("routing_key", sa.String(255), nullable=False),
        sa.Column("mandatory", sa.Boolean, nullable=False),
        sa.Column("correlation_id", sa.String(128)),
        sa.Column("headers", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "available_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("claimed_until", sa.DateTime(timezone=True)),
        sa.Column("claim_token", pg.UUID(as_uuid=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),
        schema=schema,
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["id"],
        schema=schema,
        postgresql_where=sa.text("sent_at IS NULL"),
    )
    op.create_index(
        "ix_outbox_sent_at",
        "outbox",
        ["sent_at"],
        schema=schema,
        postgresql_where=sa.text("sent_at IS NOT NULL"),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(255), nullable=False),
        sa.Column("message_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("consumer", "message_id", name="pk_inbox"),
        schema=schema,
    )
    op.create_index("ix_inbox_processed_at", "inbox", ["processed_at"], schema=schema)
    op.create_table(
        "failed_messages",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("queue", sa.String(255), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("message_type", sa.String(200)),
        sa.Column("exchange", sa.String(255)),
        sa.Column("routing_key", sa.String(255)),
        sa.Column("headers", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("content_type", sa.String(100)),
        sa.Column("failure_kind", sa.String(40), nullable=False),
        sa.Column("exception_type", sa.String(300)),
        sa.Column("exception_message", sa.Text),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("failure_count", sa.Integer, nullable=False, server_default=sa.text("1")),
        sa.Column("status", sa.String(20), nullable=False, server_default=sa.text("'unresolved'")),
        sa.Column("replay_count", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_replayed_at", sa.DateTime(timezone=True)),
        sa.Column("last_replayed_by", sa.String(255)),
        sa.Column("notes", pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("id", name="pk_failed_messages"),
        sa.UniqueConstraint("queue", "message_id", name="uq_failed_messages_queue_message_id"),
        schema=schema,
    )
    op.create_index(
        "ix_failed_messages_status_last",
        "failed_messages",
        ["status", "last_failed_at"],
        schema=schema,
    )
    op.create_index(
        "ix_failed_messages_fingerprint", "failed_messages", ["fingerprint"], schema=schema
    )


def downgrade(schema: str) -> None:
    op.drop_table("failed_messages", schema=schema)
    op.drop_table("inbox", schema=schema)
    op.drop_table("outbox", schema=schema)
