"""Merchant billing: each merchant's Stripe customer and default payment method, and one
charge per billing event (the PaymentIntent request stored once, re-sent byte for byte).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = [
    """
    CREATE TABLE payments.merchant_billing (
      merchant_id uuid PRIMARY KEY,
      stripe_customer_id text UNIQUE,
      default_payment_method_id text,
      updated_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE payments.billing_charges (
      billing_event_id uuid PRIMARY KEY,
      merchant_id uuid NOT NULL,
      session_id uuid NOT NULL,
      amount_minor bigint NOT NULL CHECK (amount_minor > 0),
      currency text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
      status text NOT NULL CHECK (status IN
        ('pending', 'awaiting_payment_method', 'processing', 'succeeded', 'failed')),
      stripe_request jsonb,
      stripe_payment_intent_id text,
      error_code text,
      attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK (status <> 'succeeded' OR stripe_payment_intent_id IS NOT NULL),
      CHECK (status <> 'failed' OR error_code IS NOT NULL)
    )
    """,
    "CREATE INDEX billing_charges_waiting ON payments.billing_charges (merchant_id)"
    " WHERE status = 'awaiting_payment_method'",
]


def upgrade() -> None:
    for statement in SCHEMA:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS payments.billing_charges, payments.merchant_billing")
