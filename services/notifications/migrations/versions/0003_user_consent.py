"""The projection of users' analytics consent (from ``user.consent_changed.v1``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "user_consent",
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("analytics", sa.Boolean, nullable=False),
        sa.Column("changed_at", TZ, nullable=False),
        sa.Column("recorded_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("user_id", name="pk_user_consent"),
        schema="notifications",
    )


def downgrade() -> None:
    op.drop_table("user_consent", schema="notifications")
