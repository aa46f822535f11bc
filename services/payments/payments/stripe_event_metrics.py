"""Prometheus counters of the Stripe webhook inbox (served on ``/metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class StripeEventMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry if registry is not None else CollectorRegistry()
        self.received = Counter(
            "stripe_events_received_total",
            "Verified Stripe events by source (webhook, backfill) and outcome (stored, duplicate).",
            ["source", "outcome"],
            registry=registry,
        )
        self.handled = Counter(
            "stripe_events_handled_total",
            "Stripe event processing attempts by outcome (processed, ignored, failed, deferred"
            " in read-only mode, skipped: done already or held by another worker).",
            ["outcome"],
            registry=registry,
        )
        self.rejected = Counter(
            "stripe_webhooks_rejected_total",
            "Stripe webhook deliveries refused (400) by code.",
            ["code"],
            registry=registry,
        )
