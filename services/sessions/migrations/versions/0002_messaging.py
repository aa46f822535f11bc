"""Create the messaging tables (outbox, inbox, failed_messages) in the sessions schema.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from messaging import schema_v1

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schema_v1.upgrade("sessions")


def downgrade() -> None:
    schema_v1.downgrade("sessions")
