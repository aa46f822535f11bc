"""What the Stripe adapter counts: ``stripe_calls_total{operation,outcome}`` and
``stripe_call_duration_seconds{operation}``, the outcome named by the error's class."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from payments.stripe_errors import (
    StripeAmbiguousError,
    StripeCallError,
    StripeCardDeclinedError,
    StripeDefinitiveError,
    StripeIdempotencyMismatchError,
    StripeMisconfiguredError,
    StripeNotFoundError,
)


class StripeCallMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls = Counter(
            "stripe_calls_total",
            "Stripe API calls by operation and outcome",
            ["operation", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "stripe_call_duration_seconds",
            "Stripe API call latency by operation",
            ["operation"],
            registry=registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8),
        )


def outcome_of(error: StripeCallError) -> str:
    for kind, label in (
        (StripeIdempotencyMismatchError, "idempotency_mismatch"),
        (StripeAmbiguousError, "ambiguous"),
        (StripeMisconfiguredError, "misconfigured"),
        (StripeCardDeclinedError, "declined"),
        (StripeNotFoundError, "not_found"),
        (StripeDefinitiveError, "definitive"),
    ):
        if isinstance(error, kind):
            return label
    return "transient"
