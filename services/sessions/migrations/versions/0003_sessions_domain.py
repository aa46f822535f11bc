"""Chargers with a nearest-neighbour geo index, merchants, exclusive sessions, billing events,
the audit of admin actions.

Geo search uses the contrib extensions ``cube`` and ``earthdistance`` (they ship with
PostgreSQL itself). ``earthdistance`` is not a trusted extension: the role running migrations
must be allowed to create it (the local ``postgres`` role and the compose image's
``POSTGRES_USER`` are). The index and the queries go through ``sessions.ll_to_earth_q``, a
schema-qualified copy of ``ll_to_earth``, so that ``pg_restore`` (which runs with an empty
``search_path``) can rebuild the index.

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

OPEN = "status IN ('active', 'arrived', 'merchant_notified')"

UPGRADE = [
    "CREATE EXTENSION IF NOT EXISTS cube WITH SCHEMA public",
    "CREATE EXTENSION IF NOT EXISTS earthdistance WITH SCHEMA public",
    """
    CREATE FUNCTION sessions.ll_to_earth_q(float8, float8) RETURNS public.earth
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS
    $$SELECT public.cube(public.cube(public.cube(
        public.earth() * pg_catalog.cos(pg_catalog.radians($1))
                       * pg_catalog.cos(pg_catalog.radians($2))),
        public.earth() * pg_catalog.cos(pg_catalog.radians($1))
                       * pg_catalog.sin(pg_catalog.radians($2))),
        public.earth() * pg_catalog.sin(pg_catalog.radians($1)))::public.earth$$
    """,
    """
    CREATE TABLE sessions.chargers (
        id uuid PRIMARY KEY,
        external_id text NOT NULL,
        name text NOT NULL,
        network text NOT NULL,
        lat float8 NOT NULL,
        lng float8 NOT NULL,
        connectors jsonb NOT NULL DEFAULT '[]'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_chargers_external_id UNIQUE (external_id),
        CONSTRAINT ck_chargers_lat CHECK (lat BETWEEN -90 AND 90),
        CONSTRAINT ck_chargers_lng CHECK (lng BETWEEN -180 AND 180)
    )
    """,
    "CREATE INDEX ix_chargers_earth ON sessions.chargers "
    "USING gist (sessions.ll_to_earth_q(lat, lng))",
    """
    CREATE TABLE sessions.merchants (
        id uuid PRIMARY KEY,
        owner_user_id uuid NOT NULL,
        name text NOT NULL,
        lat float8 NOT NULL,
        lng float8 NOT NULL,
        phone_key_id text NOT NULL,
        phone_ciphertext bytea NOT NULL,
        phone_hash bytea NOT NULL,
        offer_title text NOT NULL,
        billing_amount_minor bigint NOT NULL,
        currency char(3) NOT NULL,
        reward_nova integer NOT NULL,
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_merchants_billing_positive CHECK (billing_amount_minor > 0),
        CONSTRAINT ck_merchants_reward CHECK (reward_nova >= 0),
        CONSTRAINT ck_merchants_lat CHECK (lat BETWEEN -90 AND 90),
        CONSTRAINT ck_merchants_lng CHECK (lng BETWEEN -180 AND 180)
    )
    """,
    "CREATE INDEX ix_merchants_owner_user_id ON sessions.merchants (owner_user_id)",
    "CREATE INDEX ix_merchants_phone_hash ON sessions.merchants (phone_hash)",
    "CREATE INDEX ix_merchants_earth_active ON sessions.merchants "
    "USING gist (sessions.ll_to_earth_q(lat, lng)) WHERE active",
    f"""
    CREATE TABLE sessions.exclusive_sessions (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL,
        merchant_id uuid NOT NULL REFERENCES sessions.merchants (id),
        charger_id uuid NOT NULL REFERENCES sessions.chargers (id),
        status text NOT NULL,
        offer_code text NOT NULL,
        reply_code text NOT NULL,
        billing_amount_minor bigint NOT NULL,
        currency char(3) NOT NULL,
        reward_nova integer NOT NULL,
        notify_status text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        arrived_at timestamptz,
        merchant_notified_at timestamptz,
        renotified_at timestamptz,
        ended_at timestamptz,
        ended_reason text,
        confirmed_via text,
        CONSTRAINT ck_exclusive_sessions_status CHECK (status IN
            ('active', 'arrived', 'merchant_notified', 'completed', 'expired', 'cancelled')),
        CONSTRAINT ck_exclusive_sessions_billing_positive CHECK (billing_amount_minor > 0),
        CONSTRAINT ck_exclusive_sessions_confirmed_via CHECK (confirmed_via IS NULL
            OR confirmed_via IN ('sms', 'merchant_api', 'admin')),
        CONSTRAINT ck_exclusive_sessions_ended CHECK (({OPEN}) = (ended_at IS NULL))
    )
    """,
    "CREATE UNIQUE INDEX uq_exclusive_sessions_one_open ON sessions.exclusive_sessions "
    f"(user_id, merchant_id) WHERE {OPEN}",
    "CREATE UNIQUE INDEX uq_exclusive_sessions_open_offer_code ON sessions.exclusive_sessions "
    f"(merchant_id, offer_code) WHERE {OPEN}",
    "CREATE UNIQUE INDEX uq_exclusive_sessions_open_reply_code ON sessions.exclusive_sessions "
    f"(merchant_id, reply_code) WHERE {OPEN}",
    "CREATE INDEX ix_exclusive_sessions_open_expiry ON sessions.exclusive_sessions "
    f"(expires_at) WHERE {OPEN}",
    "CREATE INDEX ix_exclusive_sessions_stuck ON sessions.exclusive_sessions "
    "(arrived_at) WHERE status IN ('arrived', 'merchant_notified')",
    "CREATE INDEX ix_exclusive_sessions_user ON sessions.exclusive_sessions "
    "(user_id, created_at DESC, id DESC)",
    "CREATE INDEX ix_exclusive_sessions_merchant_code ON sessions.exclusive_sessions "
    "(merchant_id, offer_code, created_at DESC)",
    "CREATE INDEX ix_exclusive_sessions_status_created ON sessions.exclusive_sessions "
    "(status, created_at DESC, id DESC)",
    """
    CREATE TABLE sessions.billing_events (
        id uuid PRIMARY KEY,
        session_id uuid NOT NULL REFERENCES sessions.exclusive_sessions (id),
        merchant_id uuid NOT NULL REFERENCES sessions.merchants (id),
        amount_minor bigint NOT NULL,
        currency char(3) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_billing_events_session_id UNIQUE (session_id),
        CONSTRAINT ck_billing_events_amount_positive CHECK (amount_minor > 0)
    )
    """,
    "CREATE INDEX ix_billing_events_merchant ON sessions.billing_events "
    "(merchant_id, created_at DESC)",
    """
    CREATE TABLE sessions.admin_audit (
        id uuid PRIMARY KEY,
        actor_user_id uuid NOT NULL,
        action text NOT NULL,
        target_kind text NOT NULL,
        target_id uuid NOT NULL,
        details jsonb NOT NULL DEFAULT '{}'::jsonb,
        request_id text,
        at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX ix_admin_audit_target ON sessions.admin_audit (target_kind, target_id, at)",
]

DOWNGRADE = [
    "DROP TABLE IF EXISTS sessions.admin_audit",
    "DROP TABLE IF EXISTS sessions.billing_events",
    "DROP TABLE IF EXISTS sessions.exclusive_sessions",
    "DROP TABLE IF EXISTS sessions.merchants",
    "DROP TABLE IF EXISTS sessions.chargers",
    "DROP FUNCTION IF EXISTS sessions.ll_to_earth_q(float8, float8)",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
