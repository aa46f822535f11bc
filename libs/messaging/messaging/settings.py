"""The messaging part of a service's settings: retry schedules, prefetch, relay and replay knobs.

Every value is an environment variable (lists and mappings as JSON), e.g.::

    RETRY_TIERS='["5s","30s","2m","10m","30m","2h"]'
    RETRY_SCHEDULES='{"notifications.sms.send": ["5s","30s","2m","10m","30m"]}'
    QUEUE_PREFETCH='{"payments.stripe.commands": 10}'
    QUEUE_RETRY_PREFETCH='{"notifications.sms.send": 1}'

The prefetch of a queue is its concurrency per process; ``<queue>.retry`` (where the retry tiers
deliver) has its own, ``DEFAULT_RETRY_PREFETCH`` unless ``QUEUE_RETRY_PREFETCH`` names the queue.
"""

from __future__ import annotations

from typing import Self

from common.settings import BrokerSettings
from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from messaging.durations import parse_duration

DEFAULT_TIERS = ["5s", "30s", "2m", "10m", "30m", "2h"]


class MessagingSettings(BrokerSettings):
    """Mixin for services that publish through an outbox and consume work queues."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    service_name: str = "service"
    retry_tiers: list[str] = Field(default_factory=lambda: list(DEFAULT_TIERS))
    retry_default_schedule: list[str] = Field(default_factory=lambda: ["5s", "30s", "2m"])
    retry_schedules: dict[str, list[str]] = Field(default_factory=dict)
    default_prefetch: int = Field(default=20, ge=1, le=1000)
    queue_prefetch: dict[str, int] = Field(default_factory=dict)
    default_retry_prefetch: int = Field(default=4, ge=1, le=1000)
    queue_retry_prefetch: dict[str, int] = Field(default_factory=dict)
    delivery_limit: int = Field(default=10, ge=1, le=100_000)
    queue_delivery_limits: dict[str, int] = Field(default_factory=dict)
    handler_timeout_seconds: float = Field(default=120.0, gt=0, le=900)
    graceful_timeout_seconds: float = Field(default=25.0, gt=0, le=300)
    outbox_batch_size: int = Field(default=200, ge=1, le=5000)
    outbox_lease_seconds: float = Field(default=30.0, gt=0, le=3600)
    outbox_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    outbox_gather_seconds: float = Field(default=0.0, ge=0, le=1)
    outbox_retention_hours: float = Field(default=24.0, gt=0)
    inbox_retention_days: float = Field(default=30.0, gt=0)
    dead_letter_retention_days: float = Field(default=90.0, gt=0)
    publish_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    broker_connect_wait_seconds: float = Field(default=60.0, ge=0, le=600)
    """How long a starting service waits for RabbitMQ (backing off) before its startup fails."""
    dlq_prefetch: int = Field(default=50, ge=1, le=1000)
    replay_rate_per_second: float = Field(default=50.0, gt=0, le=10_000)
    replay_max_batch: int = Field(default=1000, ge=1, le=100_000)
    analytics_buffer_size: int = Field(default=10_000, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _check_schedules(self) -> Self:
        tiers = set(self.retry_tiers)
        for tier in self.retry_tiers:
            parse_duration(tier)
        for queue, schedule in {
            "(default)": self.retry_default_schedule,
            **self.retry_schedules,
        }.items():
            unknown = [t for t in schedule if t not in tiers]
            if unknown:
                raise ValueError(
                    f"RETRY_SCHEDULES[{queue}]: tiers {unknown} are not in "
                    f"RETRY_TIERS {self.retry_tiers}"
                )
        return self

    def retry_schedule(self, queue: str) -> list[str]:
        return list(self.retry_schedules.get(queue, self.retry_default_schedule))

    def prefetch(self, queue: str) -> int:
        return self.queue_prefetch.get(queue, self.default_prefetch)

    def retry_prefetch(self, queue: str) -> int:
        """The prefetch of ``<queue>.retry``: the handlers a retry storm may take at once."""
        return self.queue_retry_prefetch.get(queue, self.default_retry_prefetch)

    def delivery_limit_for(self, queue: str) -> int:
        return self.queue_delivery_limits.get(queue, self.delivery_limit)
