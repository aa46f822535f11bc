"""The one settings class of the payments service (environment variables, upper case)."""

from __future__ import annotations

from common.service_app import ConnectedServiceSettings
from pydantic import Field


class PaymentsSettings(ConnectedServiceSettings):
    service_name: str = "payments"
    http_port: int = 8004
    db_schema: str = "payments"

    # HTTP idempotency keys (reference/payments.md §1): how long a completed key replays, and
    # how long an in-flight claim holds off a concurrent retry (409 idempotency_key_in_use).
    idempotency_retention_hours: int = Field(default=24, ge=24, le=24 * 30)
    idempotency_lease_seconds: float = Field(default=30.0, ge=1, le=600)
    idempotency_reaper_interval_seconds: float = Field(default=300.0, gt=0)
    idempotency_reaper_batch_size: int = Field(default=500, ge=1, le=10_000)

    # Kill switches live in the database; each replica caches them this long and fails closed
    # (blocks money movement) when they cannot be read.
    kill_switch_cache_seconds: float = Field(default=2.0, ge=0, le=30)

    # Parked rewards (earn switched off) are applied by this loop once earning reopens.
    parked_rewards_interval_seconds: float = Field(default=5.0, gt=0)
    parked_rewards_batch_size: int = Field(default=100, ge=1, le=1_000)

    # Largest single admin grant, in whole Nova.
    grant_max_nova: int = Field(default=1_000_000, ge=1)

    @property
    def idempotency_key_required(self) -> bool:
        """Money-moving POSTs need an ``Idempotency-Key`` everywhere but ``local``."""
        return self.env.value != "local"
