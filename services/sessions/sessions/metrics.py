"""Prometheus counters of the sessions service (served on ``/metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class SessionMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        registry = registry if registry is not None else CollectorRegistry()
        self.activations = Counter(
            "sessions_activations_total",
            "Activation requests by outcome (created, existing).",
            ["outcome"],
            registry=registry,
        )
        self.completed = Counter(
            "sessions_completed_total",
            "Sessions completed, by confirmation channel.",
            ["confirmed_via"],
            registry=registry,
        )
        self.expired = Counter(
            "sessions_expired_total", "Sessions expired, by reason.", ["reason"], registry=registry
        )
        self.renotified = Counter(
            "sessions_renotified_total",
            "Stuck sessions whose merchant got the one re-notification.",
            registry=registry,
        )
        self.sms_replies = Counter(
            "sessions_sms_replies_total",
            "Merchant SMS replies by outcome (completed, unmatched, stale, ignored).",
            ["outcome"],
            registry=registry,
        )
        self.sms_status = Counter(
            "sessions_sms_status_total",
            "SMS delivery reports by kind and whether they changed a session.",
            ["kind", "outcome"],
            registry=registry,
        )
        self.housekeeping_backlog = Gauge(
            "sessions_expiry_backlog",
            "Open sessions past expires_at not yet swept (sampled each round).",
            registry=registry,
        )
