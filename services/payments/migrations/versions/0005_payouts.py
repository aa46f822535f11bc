"""Driver payouts: the drivers' Stripe connected accounts, payouts with a state machine the
database enforces, and their append-only transition history.

- ``payouts.status``: ``pending → succeeded | failed | unknown | frozen``,
  ``unknown → succeeded | failed | frozen``, ``succeeded → reversed``; anything else raises
  (trigger ``payouts_state_machine``, which also bumps ``version``).
- ``succeeded``/``reversed`` carry the transfer id; ``failed``/``reversed`` carry the reversal
  journal; ``failed`` means no transfer exists (``no_transfer_confirmed``) (CHECKs).
- One open payout (``pending``, ``unknown``, ``frozen``) per driver (partial unique index).
- The Stripe request (key ``payout:<id>``, ``transfer_group`` ``payout_<id>``) is stored once
  and never rewritten (trigger); ``payout_transitions`` is append-only.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = [
    r"""
SET LOCAL search_path = payments
    """,
    r"""
CREATE TABLE payout_accounts (
  driver_id uuid PRIMARY KEY,
  stripe_account_id text NOT NULL UNIQUE CHECK (stripe_account_id ~ '^acct_[A-Za-z0-9]+$'),
  payouts_enabled boolean NOT NULL DEFAULT false,
  disabled_reason text,
  checked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)
    """,
    r"""
CREATE TABLE payouts (
  id uuid PRIMARY KEY,
  driver_id uuid NOT NULL,
  nova_amount bigint NOT NULL CHECK (nova_amount > 0),
  rate_minor_per_nova numeric(20, 10) NOT NULL CHECK (rate_minor_per_nova > 0),
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  currency text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  destination_account text NOT NULL,
  status text NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'succeeded', 'failed', 'unknown', 'frozen', 'reversed')),
  stripe_idempotency_key text NOT NULL UNIQUE,
  stripe_request jsonb NOT NULL,
  transfer_group text NOT NULL UNIQUE,
  stripe_transfer_id text UNIQUE,
  stripe_status text,
  attempt_count integer NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
  last_error_code text,
  last_error_message text,
  debit_tx_id uuid NOT NULL REFERENCES ledger_transactions(id),
  settle_tx_id uuid REFERENCES ledger_transactions(id),
  reversal_tx_id uuid REFERENCES ledger_transactions(id),
  no_transfer_confirmed boolean NOT NULL DEFAULT false,
  retry_of uuid UNIQUE REFERENCES payouts(id),
  first_submitted_at timestamptz,
  settled_at timestamptz,
  reconciled_at timestamptz,
  next_reconcile_at timestamptz NOT NULL,
  reconcile_attempts integer NOT NULL DEFAULT 0,
  reconcile_lease_until timestamptz,
  version integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ck_payouts_transfer_id CHECK
    (status NOT IN ('succeeded', 'reversed') OR stripe_transfer_id IS NOT NULL),
  CONSTRAINT ck_payouts_reversal CHECK
    (status NOT IN ('failed', 'reversed') OR reversal_tx_id IS NOT NULL),
  CONSTRAINT ck_payouts_failed_without_transfer CHECK
    (status <> 'failed' OR (no_transfer_confirmed AND stripe_transfer_id IS NULL)),
  CONSTRAINT ck_payouts_key CHECK (stripe_idempotency_key = 'payout:' || id::text),
  CONSTRAINT ck_payouts_group CHECK (transfer_group = 'payout_' || id::text)
)
    """,
    r"""
CREATE UNIQUE INDEX payouts_one_open_per_driver ON payouts (driver_id)
  WHERE status IN ('pending', 'unknown', 'frozen')
    """,
    r"""
CREATE INDEX payouts_reconcile_due ON payouts (next_reconcile_at)
  WHERE status IN ('pending', 'unknown')
    """,
    r"""
CREATE INDEX payouts_by_status ON payouts (status, created_at)
    """,
    r"""
CREATE FUNCTION enforce_payout_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.stripe_request IS DISTINCT FROM OLD.stripe_request
     OR NEW.stripe_idempotency_key IS DISTINCT FROM OLD.stripe_idempotency_key
     OR NEW.amount_minor IS DISTINCT FROM OLD.amount_minor
     OR NEW.nova_amount IS DISTINCT FROM OLD.nova_amount THEN
    RAISE EXCEPTION 'a payout''s amounts and Stripe request are immutable'
      USING ERRCODE = 'check_violation';
  END IF;
  IF OLD.status = NEW.status THEN RETURN NEW; END IF;
  IF NOT ((OLD.status = 'pending' AND NEW.status IN ('succeeded', 'failed', 'unknown', 'frozen'))
       OR (OLD.status = 'unknown' AND NEW.status IN ('succeeded', 'failed', 'frozen'))
       OR (OLD.status = 'succeeded' AND NEW.status = 'reversed')) THEN
    RAISE EXCEPTION 'illegal payout transition % -> %', OLD.status, NEW.status
      USING ERRCODE = 'check_violation';
  END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  RETURN NEW;
END $$
    """,
    r"""
CREATE TRIGGER payouts_state_machine BEFORE UPDATE ON payouts
  FOR EACH ROW EXECUTE FUNCTION enforce_payout_transition()
    """,
    r"""
CREATE TABLE payout_transitions (
  id bigserial PRIMARY KEY,
  payout_id uuid NOT NULL REFERENCES payouts(id),
  from_status text,
  to_status text NOT NULL,
  reason text NOT NULL,
  actor text NOT NULL,
  details jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
)
    """,
    r"""
CREATE INDEX ix_payout_transitions_payout ON payout_transitions (payout_id, id)
    """,
    r"""
CREATE TRIGGER payout_transitions_immutable BEFORE UPDATE OR DELETE ON payout_transitions
  FOR EACH ROW EXECUTE FUNCTION forbid_mutation()
    """,
    r"""
CREATE TRIGGER payout_transitions_no_truncate BEFORE TRUNCATE ON payout_transitions
  FOR EACH STATEMENT EXECUTE FUNCTION forbid_mutation()
    """,
]


def upgrade() -> None:
    for statement in SCHEMA:
        op.execute(statement)


def downgrade() -> None:
    op.execute(
        "DROP TABLE IF EXISTS payments.payout_transitions, payments.payouts,"
        " payments.payout_accounts"
    )
    op.execute("DROP FUNCTION IF EXISTS payments.enforce_payout_transition()")
