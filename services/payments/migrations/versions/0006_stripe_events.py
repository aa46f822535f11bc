"""The Stripe webhook inbox: one row per Stripe event id (the dedup), processed by a worker.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = [
    """
    CREATE TABLE payments.stripe_events (
      event_id text PRIMARY KEY CHECK (event_id ~ '^evt_'),
      event_type text NOT NULL,
      livemode boolean NOT NULL,
      account text,
      api_version text,
      stripe_created timestamptz NOT NULL,
      payload jsonb NOT NULL,
      source text NOT NULL CHECK (source IN ('webhook', 'backfill')),
      status text NOT NULL DEFAULT 'received' CHECK (status IN
        ('received', 'processing', 'processed', 'failed', 'ignored')),
      attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
      locked_until timestamptz,
      last_error text,
      received_at timestamptz NOT NULL DEFAULT now(),
      requeued_at timestamptz,
      processed_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK (status <> 'processing' OR locked_until IS NOT NULL),
      CHECK (status NOT IN ('processed', 'ignored') OR processed_at IS NOT NULL)
    )
    """,
    "CREATE INDEX stripe_events_open ON payments.stripe_events (received_at)"
    " WHERE status IN ('received', 'processing', 'failed')",
    "CREATE INDEX stripe_events_done ON payments.stripe_events (processed_at)"
    " WHERE status IN ('processed', 'ignored')",
]


def upgrade() -> None:
    for statement in SCHEMA:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS payments.stripe_events")
