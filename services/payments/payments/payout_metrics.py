"""Metrics of driver payouts: outcomes and alerts (a duplicate transfer pages someone)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class PayoutMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry if registry is not None else CollectorRegistry()
        self.outcomes = Counter(
            "payout_outcomes_total",
            "Payout status changes by new status",
            ["status"],
            registry=registry,
        )
        self.alerts = Counter(
            "payout_alerts_total",
            "Payout conditions that need a human (duplicate_transfers, ...)",
            ["kind"],
            registry=registry,
        )
