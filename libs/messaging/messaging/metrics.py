"""Prometheus counters of the messaging layer, registered on the app's registry when given."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class MessagingMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry or CollectorRegistry()
        self.consumed = Counter(
            "messaging_consumed_total",
            "Deliveries by queue and outcome (acked, duplicate, retried, dead_lettered, requeued)",
            ["queue", "outcome"],
            registry=registry,
        )
        self.dead_letters_ingested = Counter(
            "messaging_dead_letters_ingested_total",
            "Messages moved from a DLQ into failed_messages, by queue and failure kind",
            ["queue", "failure_kind"],
            registry=registry,
        )
        self.replayed = Counter(
            "messaging_replayed_total",
            "Dead letters replayed, by queue",
            ["queue"],
            registry=registry,
        )
        self.analytics_dropped = Counter(
            "messaging_analytics_dropped_total",
            "Analytics events dropped (buffer full or broker away), by reason",
            ["reason"],
            registry=registry,
        )
        self.outbox_published = Counter(
            "messaging_outbox_published_total",
            "Outbox rows published and confirmed by this replica's relay",
            registry=registry,
        )
        self.outbox_claims = Counter(
            "messaging_outbox_claims_total",
            "Claim rounds of this replica's relay, by result (empty, rows)",
            ["result"],
            registry=registry,
        )
        self.outbox_claimed_rows = Counter(
            "messaging_outbox_claimed_rows_total",
            "Outbox rows claimed by this replica's relay (rows per claim = this / claims{rows})",
            registry=registry,
        )
        self.outbox_lag = Gauge(
            "messaging_outbox_oldest_pending_seconds",
            "Age of the oldest outbox row not yet confirmed by RabbitMQ (0 when none)",
            registry=registry,
        )
