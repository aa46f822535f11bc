"""The one settings class of the payments service (environment variables, upper case)."""

from __future__ import annotations

from decimal import Decimal

from common.service import ConnectedServiceSettings
from messaging.settings import MessagingSettings
from pydantic import Field

from payments.stripe_settings import StripeSettings

BILLING_CHARGE_QUEUE = "payments.billing.charge"
STRIPE_EVENTS_QUEUE = "payments.stripe_events.process"
PAYOUTS_EXECUTE_QUEUE = "payments.payouts.execute"
STRIPE_RETRY_SCHEDULE = ("30s", "2m", "10m")


class PaymentsSettings(StripeSettings, ConnectedServiceSettings, MessagingSettings):
    """Stripe's fields and their startup checks come from :class:`StripeSettings`."""

    service_name: str = "payments"
    http_port: int = 8004
    db_schema: str = "payments"

    idempotency_retention_hours: int = Field(default=24, ge=24, le=24 * 30)
    """How long a completed Idempotency-Key replays its response (at least 24 h)."""
    idempotency_lease_seconds: float = Field(default=30.0, ge=1, le=600)
    """How long an in-flight request holds its key (a concurrent retry gets 409 in use)."""
    idempotency_reaper_interval_seconds: float = Field(default=300.0, gt=0)
    """How often each replica deletes expired idempotency keys."""
    idempotency_reaper_batch_size: int = Field(default=500, ge=1, le=10_000)
    """Keys deleted per reaper transaction."""
    kill_switch_cache_seconds: float = Field(default=2.0, ge=0, le=30)
    """How long a replica caches the kill switches read from the database (fails closed)."""
    parked_rewards_interval_seconds: float = Field(default=5.0, gt=0)
    """How often parked rewards (earning was off) are applied once earning reopens."""
    parked_rewards_batch_size: int = Field(default=100, ge=1, le=1_000)
    """Parked rewards applied per transaction."""

    payout_currency: str = Field(default="usd", pattern=r"^[a-z]{3}$")
    """The currency of drivers' payouts (Stripe's lowercase ISO code)."""
    payout_minor_units_per_nova: Decimal = Field(default=Decimal("1"), gt=0, max_digits=20)
    """The Nova→fiat rate: minor units (cents) per Nova, frozen on each payout when requested."""
    payout_stale_pending_seconds: float = Field(default=900.0, ge=60)
    """A payout still ``pending`` this long after its request (worker crashed, switch held it)
    is reconciled like an ``unknown`` one (past the worker's 30s/2m/10m retries)."""
    payout_reconcile_interval_seconds: float = Field(default=30.0, gt=0)
    """How often each replica looks for payouts due for reconciliation."""
    payout_reconcile_batch_size: int = Field(default=20, ge=1, le=500)
    """Payouts one reconciler pass leases."""
    payout_reconcile_lease_seconds: float = Field(default=60.0, ge=5, le=3600)
    """How long a reconciler (job or ops endpoint) owns a payout; another actor skips it."""

    retry_schedules: dict[str, list[str]] = Field(
        default_factory=lambda: {
            BILLING_CHARGE_QUEUE: list(STRIPE_RETRY_SCHEDULE),
            STRIPE_EVENTS_QUEUE: list(STRIPE_RETRY_SCHEDULE),
            PAYOUTS_EXECUTE_QUEUE: list(STRIPE_RETRY_SCHEDULE),
        }
    )
    """Per-queue retry schedules; the Stripe workers (billing, payouts, Stripe events) retry on
    Stripe's (30s, 2m, 10m), then dead-letter."""

    emergency_readonly_mode: bool = False
    """The platform's read-only flag (set on the gateway and payments alike): Stripe events
    are stored, not processed, and drain once after it is cleared (restart or roll)."""
    stripe_event_lease_seconds: float = Field(default=60.0, ge=5, le=600)
    """How long a worker holds a Stripe event it processes (a crashed one's lease expires)."""
    stripe_event_requeue_interval_seconds: float = Field(default=30.0, gt=0)
    """How often each replica looks for stored Stripe events that no worker has taken."""
    stripe_event_requeue_after_seconds: float = Field(default=120.0, ge=0)
    """A stored event still unprocessed this long (read-only mode, a lost command, an expired
    lease) gets its processing command again."""
    stripe_event_requeue_batch_size: int = Field(default=100, ge=1, le=1_000)
    """Stripe events re-queued per transaction."""
    stripe_event_retention_days: int = Field(default=45, ge=31, le=3_650)
    """Processed and ignored Stripe events are deleted after this many days (more than the 30
    days Stripe lists events for, so a backfill never stores one twice)."""
    stripe_event_reaper_interval_seconds: float = Field(default=3600.0, gt=0)
    """How often each replica deletes Stripe events past their retention."""

    @property
    def idempotency_key_required(self) -> bool:
        """Money-moving POSTs need an ``Idempotency-Key`` everywhere but ``local``."""
        return self.env.value != "local"
