"""The Stripe adapter built against the fake Stripe, with short timeouts, for tests that
drive it directly (its faults, its circuit)."""

from __future__ import annotations

import uuid

from payments import stripe_requests as req
from payments.stripe_circuit import StripeCircuit
from payments.stripe_provider import StripePaymentProvider
from payments.stripe_requests import StripeRequest
from prometheus_client import CollectorRegistry

from tests.fakes.stripe.control import StripeControl

TIMEOUT = 1.0  # the client's; injected hangs are 30 s, a wide margin either way


def build(
    fake: StripeControl,
    *,
    api_key: str | None = None,
    api_base: str | None = None,
    registry: CollectorRegistry | None = None,
    circuit: StripeCircuit | None = None,
) -> StripePaymentProvider:
    return StripePaymentProvider.create(
        api_key=api_key or fake.api_key,
        api_version="2026-10-28.endive",
        timeout_seconds=TIMEOUT,
        connect_timeout_seconds=TIMEOUT,
        api_base=api_base or fake.url,
        circuit=circuit,
        registry=registry,
    )


def transfer(destination: str, amount: int = 1500) -> StripeRequest:
    return req.transfer_request(
        str(uuid.uuid4()),
        amount_minor=amount,
        currency="usd",
        destination=destination,
        driver_id="d",
    )
