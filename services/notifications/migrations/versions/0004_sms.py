"""SMS deliveries, their attempts and status callbacks, phone opt-outs, inbound SMS.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)
S = "notifications"
UUID = postgresql.UUID(as_uuid=True)


def upgrade() -> None:
    op.create_table(
        "sms_deliveries",
        sa.Column("id", UUID, nullable=False),
        sa.Column("delivery_key", sa.Text, nullable=False),
        sa.Column("reference_kind", sa.Text, nullable=False),
        sa.Column("reference_id", sa.Text, nullable=False),
        sa.Column("template", sa.Text, nullable=False),
        sa.Column("reply_code", sa.Text),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("phone_key_id", sa.Text, nullable=False),
        sa.Column("phone_ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("phone_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("status_rank", sa.SmallInteger, nullable=False),
        sa.Column("error_code", sa.Integer),
        sa.Column("permanent", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("failure_reason", sa.Text),
        sa.Column("message_sid", sa.Text),
        sa.Column("resends", sa.Integer, nullable=False, server_default="0"),
        sa.Column("replied_at", TZ),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sms_deliveries"),
        sa.UniqueConstraint("delivery_key", name="uq_sms_deliveries_delivery_key"),
        schema=S,
    )
    op.create_index(
        "ix_sms_deliveries_phone_hash_created_at",
        "sms_deliveries",
        ["phone_hash", "created_at"],
        schema=S,
    )
    op.create_index("ix_sms_deliveries_created_at", "sms_deliveries", ["created_at"], schema=S)
    op.create_index(
        "ix_sms_deliveries_reference",
        "sms_deliveries",
        ["reference_kind", "reference_id"],
        schema=S,
    )
    op.create_index(
        "ix_sms_deliveries_message_sid",
        "sms_deliveries",
        ["message_sid"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("message_sid IS NOT NULL"),
    )
    op.create_table(
        "sms_attempts",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("delivery_id", UUID, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("finished_at", TZ),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("message_sid", sa.Text),
        sa.Column("http_status", sa.Integer),
        sa.Column("error_code", sa.Integer),
        sa.PrimaryKeyConstraint("id", name="pk_sms_attempts"),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            [f"{S}.sms_deliveries.id"],
            name="fk_sms_attempts_delivery_id_sms_deliveries",
        ),
        sa.UniqueConstraint("delivery_id", "n", name="uq_sms_attempts_delivery_id_n"),
        schema=S,
    )
    op.create_index(
        "ix_sms_attempts_message_sid",
        "sms_attempts",
        ["message_sid"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("message_sid IS NOT NULL"),
    )
    op.create_table(
        "sms_status_callbacks",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("message_sid", sa.Text, nullable=False),
        sa.Column("message_status", sa.Text, nullable=False),
        sa.Column("error_code", sa.Integer),
        sa.Column("delivery_id", UUID),
        sa.Column("attempt_n", sa.Integer),
        sa.Column("applied", sa.Boolean, nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sms_status_callbacks"),
        sa.UniqueConstraint(
            "message_sid",
            "message_status",
            name="uq_sms_status_callbacks_message_sid_message_status",
        ),
        schema=S,
    )
    op.create_index(
        "ix_sms_status_callbacks_delivery_id", "sms_status_callbacks", ["delivery_id"], schema=S
    )
    op.create_table(
        "phone_optouts",
        sa.Column("phone_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("opted_out", sa.Boolean, nullable=False),
        sa.Column("changed_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("phone_hash", name="pk_phone_optouts"),
        schema=S,
    )
    op.create_table(
        "inbound_sms",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("message_sid", sa.Text, nullable=False),
        sa.Column("phone_key_id", sa.Text, nullable=False),
        sa.Column("phone_ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("phone_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("keyword", sa.Text, nullable=False),
        sa.Column("reply_code", sa.Text),
        sa.Column("delivery_id", UUID),
        sa.Column("received_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_inbound_sms"),
        sa.UniqueConstraint("message_sid", name="uq_inbound_sms_message_sid"),
        schema=S,
    )


def downgrade() -> None:
    for table in (
        "inbound_sms",
        "phone_optouts",
        "sms_status_callbacks",
        "sms_attempts",
        "sms_deliveries",
    ):
        op.drop_table(table, schema=S)
