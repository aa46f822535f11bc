"""What the Stripe adapter counts and logs: ``stripe_calls_total{operation,outcome}``,
``stripe_call_duration_seconds{operation}`` and ``stripe_circuit_open`` (1 while the circuit
refuses calls, :mod:`payments.stripe_circuit`); the outcome is named by the error's class."""

from __future__ import annotations

import logging

import stripe
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from payments.stripe_errors import (
    StripeAmbiguousError,
    StripeCallError,
    StripeCardDeclinedError,
    StripeCircuitOpenError,
    StripeDefinitiveError,
    StripeIdempotencyMismatchError,
    StripeMisconfiguredError,
    StripeNotFoundError,
)

logger = logging.getLogger(__name__)


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
        self.circuit_open = Gauge(
            "stripe_circuit_open",
            "1 while the Stripe circuit refuses calls (Stripe has not been answering)",
            registry=registry,
        )


def outcome_of(error: StripeCallError) -> str:
    for kind, label in (
        (StripeCircuitOpenError, "circuit_open"),
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


def log_failure(error: StripeCallError, exc: BaseException) -> None:
    """One log record per failed call: the operation, key, status, Stripe's codes and request id,
    never the API key or Stripe's message text."""
    if isinstance(error, StripeMisconfiguredError | StripeIdempotencyMismatchError):
        level = logging.ERROR
    elif isinstance(error, StripeDefinitiveError):
        level = logging.INFO
    else:
        level = logging.WARNING
    logger.log(
        level,
        "stripe call failed",
        extra={
            "operation": error.operation,
            "outcome": outcome_of(error),
            "idempotency_key": error.idempotency_key,
            "http_status": error.http_status,
            "stripe_code": error.code,
            "decline_code": error.decline_code,
            "stripe_request_id": error.request_id,
            "transport_error": None if isinstance(exc, stripe.StripeError) else type(exc).__name__,
            "may_have_acted": error.may_have_acted,
        },
    )
