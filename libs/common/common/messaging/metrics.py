"""Prometheus counters of the messaging layer, registered on the app's registry when given."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


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
