"""The Nova ledger: accounts, journals, immutable entries, idempotency keys, kill switches,
the hash-chained audit log, the merchant and driver projections and parked rewards.

The database enforces what must never break, whatever the code does:
- every journal nets to zero per asset (deferred constraint trigger, checked at COMMIT);
- entries and journals are append-only (UPDATE/DELETE/TRUNCATE raise);
- a balance that may not go negative cannot (CHECK), and versions are gap-free per account
  (UNIQUE(account_id, account_version), written by ``post_journal`` only);
- the audit log is append-only and each row's hash covers the previous row's hash.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KILL_SWITCHES = (
    # name, enabled at creation: a "block" switch starts off, an "enabled" switch starts on
    ("BLOCK_ALL_MONEY_MOVEMENT", False),
    ("NOVA_EARN_ENABLED", True),
    ("NOVA_REDEEM_ENABLED", True),
    ("PAYOUTS_ENABLED", True),
)

SCHEMA = r"""
SET LOCAL search_path = payments;

CREATE FUNCTION forbid_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TABLE ledger_accounts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  owner_type text NOT NULL CHECK (owner_type IN ('driver','merchant','system')),
  owner_id text NOT NULL,
  purpose text NOT NULL CHECK (purpose ~ '^[a-z_]{2,40}$'),
  asset text NOT NULL DEFAULT 'NOVA' CHECK (asset ~ '^[A-Z]{3,8}$'),
  balance bigint NOT NULL DEFAULT 0,
  version bigint NOT NULL DEFAULT 0,
  allow_negative boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT uq_ledger_accounts_owner UNIQUE (owner_type, owner_id, purpose, asset),
  CONSTRAINT ck_ledger_accounts_balance_non_negative CHECK (allow_negative OR balance >= 0),
  CONSTRAINT ck_ledger_accounts_negative_only_system CHECK (NOT allow_negative OR owner_type = 'system')
);

CREATE TABLE ledger_transactions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind text NOT NULL CHECK (kind IN ('earn','redeem','grant','reversal','adjustment',
                                     'payout_debit','payout_settle','payout_reversal')),
  external_ref text NOT NULL CHECK (char_length(external_ref) BETWEEN 1 AND 300),
  reverses_id uuid REFERENCES ledger_transactions(id),
  actor_type text NOT NULL,
  actor_id text NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT uq_ledger_transactions_kind_ref UNIQUE (kind, external_ref)
);

CREATE TABLE ledger_entries (
  id bigserial PRIMARY KEY,
  transaction_id uuid NOT NULL REFERENCES ledger_transactions(id),
  account_id uuid NOT NULL REFERENCES ledger_accounts(id),
  asset text NOT NULL,
  amount bigint NOT NULL CHECK (amount <> 0),
  balance_after bigint NOT NULL,
  account_version bigint NOT NULL CHECK (account_version >= 1),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT uq_ledger_entries_account_version UNIQUE (account_id, account_version)
);
CREATE INDEX ix_ledger_entries_transaction ON ledger_entries (transaction_id);

CREATE TRIGGER ledger_entries_immutable BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION forbid_mutation();
CREATE TRIGGER ledger_transactions_immutable BEFORE UPDATE OR DELETE ON ledger_transactions
  FOR EACH ROW EXECUTE FUNCTION forbid_mutation();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION forbid_mutation();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
  FOR EACH STATEMENT EXECUTE FUNCTION forbid_mutation();

CREATE FUNCTION check_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad record;
BEGIN
  SELECT asset, sum(amount) AS total INTO bad FROM payments.ledger_entries
   WHERE transaction_id = NEW.transaction_id GROUP BY asset HAVING sum(amount) <> 0 LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'unbalanced ledger transaction % (asset %, sum %)',
      NEW.transaction_id, bad.asset, bad.total USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_transaction_balanced();

-- The account of (owner, purpose), created on first use. One round trip, race-free.
CREATE FUNCTION ledger_account(p_owner_type text, p_owner_id text, p_purpose text,
                               p_allow_negative boolean DEFAULT false, p_asset text DEFAULT 'NOVA')
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE found_id uuid;
BEGIN
  SELECT id INTO found_id FROM payments.ledger_accounts
   WHERE owner_type = p_owner_type AND owner_id = p_owner_id AND purpose = p_purpose
     AND asset = p_asset;
  IF found_id IS NOT NULL THEN RETURN found_id; END IF;
  INSERT INTO payments.ledger_accounts (owner_type, owner_id, purpose, asset, allow_negative)
  VALUES (p_owner_type, p_owner_id, p_purpose, p_asset, p_allow_negative)
  ON CONFLICT (owner_type, owner_id, purpose, asset) DO NOTHING RETURNING id INTO found_id;
  IF found_id IS NULL THEN
    SELECT id INTO found_id FROM payments.ledger_accounts
     WHERE owner_type = p_owner_type AND owner_id = p_owner_id AND purpose = p_purpose
       AND asset = p_asset;
  END IF;
  RETURN found_id;
END $$;

-- Posts one journal: locks every account in id order (no deadlocks), refuses before writing
-- anything when a leg would take a non-negative account below zero ('insufficient_funds'),
-- returns the existing journal for a (kind, external_ref) already posted ('duplicate'),
-- otherwise applies relative balance updates and writes one entry per leg ('posted');
-- balances holds each leg's balance_after, in leg order.
CREATE FUNCTION post_journal(p_kind text, p_external_ref text, p_actor_type text,
                             p_actor_id text, p_metadata jsonb,
                             p_accounts uuid[], p_amounts bigint[],
                             OUT status text, OUT transaction_id uuid, OUT failed_account uuid,
                             OUT balances bigint[])
LANGUAGE plpgsql AS $$
DECLARE
  acct record;
  new_tx uuid;
  moved_asset text;
  moved_balance bigint;
  moved_version bigint;
BEGIN
  IF array_length(p_accounts, 1) IS DISTINCT FROM array_length(p_amounts, 1)
     OR array_length(p_accounts, 1) < 2 THEN
    RAISE EXCEPTION 'a journal needs at least two legs' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT t.id INTO transaction_id FROM payments.ledger_transactions t
   WHERE t.kind = p_kind AND t.external_ref = p_external_ref;
  IF transaction_id IS NOT NULL THEN status := 'duplicate'; RETURN; END IF;
  FOR acct IN
    SELECT a.id, a.balance, a.allow_negative, s.total
      FROM payments.ledger_accounts a
      JOIN (SELECT u.account_id, sum(u.amount) AS total
              FROM unnest(p_accounts, p_amounts) AS u(account_id, amount)
             GROUP BY u.account_id) s ON s.account_id = a.id
     ORDER BY a.id FOR UPDATE OF a
  LOOP
    IF NOT acct.allow_negative AND acct.balance + acct.total < 0 THEN
      status := 'insufficient_funds'; failed_account := acct.id; RETURN;
    END IF;
  END LOOP;
  INSERT INTO payments.ledger_transactions (kind, external_ref, actor_type, actor_id, metadata)
  VALUES (p_kind, p_external_ref, p_actor_type, p_actor_id, coalesce(p_metadata, '{}'))
  ON CONFLICT ON CONSTRAINT uq_ledger_transactions_kind_ref DO NOTHING RETURNING id INTO new_tx;
  IF new_tx IS NULL THEN
    SELECT t.id INTO transaction_id FROM payments.ledger_transactions t
     WHERE t.kind = p_kind AND t.external_ref = p_external_ref;
    status := 'duplicate'; RETURN;
  END IF;
  balances := ARRAY[]::bigint[];
  FOR i IN 1 .. array_length(p_accounts, 1) LOOP
    UPDATE payments.ledger_accounts a
       SET balance = a.balance + p_amounts[i], version = a.version + 1, updated_at = now()
     WHERE a.id = p_accounts[i]
       AND (a.allow_negative OR a.balance + p_amounts[i] >= 0)
    RETURNING a.asset, a.balance, a.version INTO moved_asset, moved_balance, moved_version;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'ledger leg % on account % could not be applied', i, p_accounts[i]
        USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO payments.ledger_entries
      (transaction_id, account_id, asset, amount, balance_after, account_version)
    VALUES (new_tx, p_accounts[i], moved_asset, p_amounts[i], moved_balance, moved_version);
    balances := balances || moved_balance;
  END LOOP;
  status := 'posted'; transaction_id := new_tx;
END $$;

CREATE TABLE idempotency_keys (
  id bigserial PRIMARY KEY,
  scope text NOT NULL,
  principal_id text NOT NULL,
  key text NOT NULL CHECK (char_length(key) BETWEEN 16 AND 255),
  request_method text NOT NULL,
  request_path text NOT NULL,
  request_hash bytea NOT NULL,
  state text NOT NULL DEFAULT 'in_progress' CHECK (state IN ('in_progress','completed')),
  locked_until timestamptz,
  response_code int,
  response_body bytea,
  response_content_type text,
  resource_type text,
  resource_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  expires_at timestamptz NOT NULL,
  CONSTRAINT uq_idempotency_keys_scope_principal_key UNIQUE (scope, principal_id, key),
  CONSTRAINT ck_idempotency_keys_completed_has_response
    CHECK (state <> 'completed' OR (response_code IS NOT NULL AND response_body IS NOT NULL))
);
CREATE INDEX ix_idempotency_keys_expires_at ON idempotency_keys (expires_at);

CREATE TABLE kill_switches (
  name text PRIMARY KEY CHECK (name IN ('BLOCK_ALL_MONEY_MOVEMENT','NOVA_EARN_ENABLED',
                                        'NOVA_REDEEM_ENABLED','PAYOUTS_ENABLED')),
  enabled boolean NOT NULL,
  reason text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 500),
  updated_by text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  chain smallint NOT NULL CHECK (chain >= 0),
  occurred_at timestamptz NOT NULL DEFAULT now(),
  actor_type text NOT NULL,
  actor_id text NOT NULL,
  action text NOT NULL,
  resource_type text NOT NULL,
  resource_id text NOT NULL,
  request_id text,
  idempotency_key text,
  details jsonb NOT NULL DEFAULT '{}',
  prev_hash bytea,
  hash bytea NOT NULL
);
CREATE INDEX ix_audit_log_chain_id ON audit_log (chain, id);
CREATE TRIGGER audit_log_immutable BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION forbid_mutation();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION forbid_mutation();

-- The hash of one audit row: sha256(previous hash in its chain || the row's canonical text).
-- Used by audit_append and by the chain verification, so both always agree.
CREATE FUNCTION audit_row_hash(p_prev bytea, p_id bigint, p_chain smallint,
                               p_occurred_at timestamptz,
                               p_actor_type text, p_actor_id text, p_action text,
                               p_resource_type text, p_resource_id text, p_request_id text,
                               p_idempotency_key text, p_details jsonb)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
  SELECT sha256(coalesce(p_prev, '\x'::bytea) || convert_to(jsonb_build_array(
    p_id, p_chain, (extract(epoch FROM p_occurred_at) * 1000000)::bigint, p_actor_type, p_actor_id,
    p_action, p_resource_type, p_resource_id, p_request_id, p_idempotency_key, p_details
  )::text, 'UTF8'))
$$;

-- Appends one audit row. The log is AUDIT_CHAINS independent hash chains (the chain is picked
-- by actor), so unrelated movements do not queue behind one lock: each chain's advisory lock is
-- held to COMMIT, making chain order commit order. Call it as the last statement before commit.
CREATE FUNCTION audit_append(p_actor_type text, p_actor_id text, p_action text,
                             p_resource_type text, p_resource_id text, p_request_id text,
                             p_idempotency_key text, p_details jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  prev bytea;
  new_id bigint;
  at timestamptz := clock_timestamp();
  chain_no smallint := (abs(hashtext(p_actor_type || ':' || p_actor_id)::bigint) % 16)::smallint;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('payments.audit_log'), chain_no);
  SELECT hash INTO prev FROM payments.audit_log WHERE chain = chain_no ORDER BY id DESC LIMIT 1;
  new_id := nextval(pg_get_serial_sequence('payments.audit_log', 'id'));
  INSERT INTO payments.audit_log (id, chain, occurred_at, actor_type, actor_id, action,
                                  resource_type, resource_id, request_id, idempotency_key,
                                  details, prev_hash, hash)
  VALUES (new_id, chain_no, at, p_actor_type, p_actor_id, p_action, p_resource_type,
          p_resource_id, p_request_id, p_idempotency_key, coalesce(p_details, '{}'), prev,
          payments.audit_row_hash(prev, new_id, chain_no, at, p_actor_type, p_actor_id,
                                  p_action, p_resource_type, p_resource_id, p_request_id,
                                  p_idempotency_key, coalesce(p_details, '{}')));
  RETURN new_id;
END $$;

CREATE TABLE merchants (
  merchant_id uuid PRIMARY KEY,
  owner_user_id uuid NOT NULL,
  name text NOT NULL,
  billing_amount_minor bigint NOT NULL CHECK (billing_amount_minor >= 0),
  currency text NOT NULL,
  reward_nova bigint NOT NULL CHECK (reward_nova >= 0),
  active boolean NOT NULL,
  source_occurred_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE drivers (
  driver_id uuid PRIMARY KEY,
  first_seen_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE parked_rewards (
  session_id uuid PRIMARY KEY,
  driver_id uuid NOT NULL,
  merchant_id uuid NOT NULL,
  reward_nova bigint NOT NULL CHECK (reward_nova > 0),
  payload jsonb NOT NULL,
  correlation_id text,
  message_id uuid NOT NULL,
  reason text NOT NULL,
  parked_at timestamptz NOT NULL DEFAULT now(),
  applied_at timestamptz,
  ledger_transaction_id uuid REFERENCES ledger_transactions(id)
);
CREATE INDEX ix_parked_rewards_waiting ON parked_rewards (parked_at) WHERE applied_at IS NULL;
"""


def statements(script: str) -> list[str]:
    """``script`` split into single statements (asyncpg prepares one at a time); a ``;``
    inside a ``$$`` function body does not end a statement."""
    found: list[str] = []
    current: list[str] = []
    in_body = False
    for line in script.splitlines():
        if line.strip().startswith("--") and not in_body:
            continue
        current.append(line)
        if line.count("$$") % 2 == 1:
            in_body = not in_body
        if not in_body and line.rstrip().endswith(";"):
            found.append("\n".join(current).strip())
            current = []
    return [s for s in found if s]


def upgrade() -> None:
    for statement in statements(SCHEMA):
        op.execute(statement)
    for name, enabled in KILL_SWITCHES:
        op.execute(
            "INSERT INTO payments.kill_switches (name, enabled, reason, updated_by) "
            f"VALUES ('{name}', {str(enabled).lower()}, 'initial state', 'migration')"
        )


def downgrade() -> None:
    op.execute(
        "DROP TABLE IF EXISTS payments.parked_rewards, payments.drivers, payments.merchants,"
        " payments.audit_log, payments.kill_switches, payments.idempotency_keys,"
        " payments.ledger_entries, payments.ledger_transactions, payments.ledger_accounts"
        " CASCADE;"
        " DROP FUNCTION IF EXISTS payments.audit_append, payments.audit_row_hash,"
        " payments.post_journal, payments.ledger_account, payments.check_transaction_balanced,"
        " payments.forbid_mutation;"
    )
