"""The analytics events the sink keeps.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "analytics_events",
        sa.Column("message_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("user_id", postgresql.UUID(as_uuid=True)),
        sa.Column("producer", sa.Text, nullable=False),
        sa.Column("properties", postgresql.JSONB, nullable=False),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("received_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("message_id", name="pk_analytics_events"),
        schema="notifications",
    )
    op.create_index(
        "ix_analytics_events_occurred_at",
        "analytics_events",
        ["occurred_at"],
        schema="notifications",
    )


def downgrade() -> None:
    op.drop_table("analytics_events", schema="notifications")
