"""SQLAlchemy tables of the payments service, all in its own ``payments`` schema.

The DDL, triggers and SQL functions (``post_journal``, ``ledger_account``, ``audit_append``,
``audit_row_hash``) are in ``migrations/versions/0003_ledger.py``; these definitions mirror it
for queries.
"""

from __future__ import annotations

from common.database import schema_metadata
from messaging.tables import add_messaging_tables
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = schema_metadata("payments")
messaging = add_messaging_tables(metadata)

_now = func.now()

ledger_accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("owner_type", Text, nullable=False),
    Column("owner_id", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("asset", Text, nullable=False),
    Column("balance", BigInteger, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("allow_negative", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

ledger_transactions = Table(
    "ledger_transactions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("external_ref", Text, nullable=False),
    Column("reverses_id", UUID(as_uuid=True), ForeignKey("ledger_transactions.id")),
    Column("actor_type", Text, nullable=False),
    Column("actor_id", Text, nullable=False),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column(
        "transaction_id",
        UUID(as_uuid=True),
        ForeignKey("ledger_transactions.id"),
        nullable=False,
    ),
    Column("account_id", UUID(as_uuid=True), ForeignKey("ledger_accounts.id"), nullable=False),
    Column("asset", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("account_version", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("scope", Text, nullable=False),
    Column("principal_id", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("request_method", Text, nullable=False),
    Column("request_path", Text, nullable=False),
    Column("request_hash", LargeBinary, nullable=False),
    Column("state", Text, nullable=False, server_default=text("'in_progress'")),
    Column("locked_until", DateTime(timezone=True)),
    Column("response_code", Integer),
    Column("response_body", LargeBinary),
    Column("response_content_type", Text),
    Column("resource_type", Text),
    Column("resource_id", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("completed_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

kill_switches = Table(
    "kill_switches",
    metadata,
    Column("name", Text, primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("updated_by", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("chain", SmallInteger, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("actor_type", Text, nullable=False),
    Column("actor_id", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("resource_type", Text, nullable=False),
    Column("resource_id", Text, nullable=False),
    Column("request_id", Text),
    Column("idempotency_key", Text),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("prev_hash", LargeBinary),
    Column("hash", LargeBinary, nullable=False),
)

merchants = Table(
    "merchants",
    metadata,
    Column("merchant_id", UUID(as_uuid=True), primary_key=True),
    Column("owner_user_id", UUID(as_uuid=True), nullable=False),
    Column("name", Text, nullable=False),
    Column("billing_amount_minor", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("reward_nova", BigInteger, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("source_occurred_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

drivers = Table(
    "drivers",
    metadata,
    Column("driver_id", UUID(as_uuid=True), primary_key=True),
    Column("first_seen_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

parked_rewards = Table(
    "parked_rewards",
    metadata,
    Column("session_id", UUID(as_uuid=True), primary_key=True),
    Column("driver_id", UUID(as_uuid=True), nullable=False),
    Column("merchant_id", UUID(as_uuid=True), nullable=False),
    Column("reward_nova", BigInteger, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("correlation_id", Text),
    Column("message_id", UUID(as_uuid=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("parked_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("applied_at", DateTime(timezone=True)),
    Column("ledger_transaction_id", UUID(as_uuid=True), ForeignKey("ledger_transactions.id")),
)

merchant_billing = Table(
    "merchant_billing",
    metadata,
    Column("merchant_id", UUID(as_uuid=True), primary_key=True),
    Column("stripe_customer_id", Text, unique=True),
    Column("default_payment_method_id", Text),
    Column("updated_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

billing_charges = Table(
    "billing_charges",
    metadata,
    Column("billing_event_id", UUID(as_uuid=True), primary_key=True),
    Column("merchant_id", UUID(as_uuid=True), nullable=False),
    Column("session_id", UUID(as_uuid=True), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("stripe_request", JSONB),
    Column("stripe_payment_intent_id", Text),
    Column("error_code", Text),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

stripe_events = Table(
    "stripe_events",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("event_type", Text, nullable=False),
    Column("livemode", Boolean, nullable=False),
    Column("account", Text),
    Column("api_version", Text),
    Column("stripe_created", DateTime(timezone=True), nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("source", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'received'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("locked_until", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("requeued_at", DateTime(timezone=True)),
    Column("processed_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_now),
)
