"""Fixtures of the fakes' own tests: the real stripe SDK's client on the fake Stripe."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import stripe

from tests.fakes.stripe.control import StripeControl


@pytest.fixture
async def http() -> AsyncIterator[stripe.AIOHTTPClient]:
    client = stripe.AIOHTTPClient(timeout=5)
    try:
        yield client
    finally:
        await client.close_async()


@pytest.fixture
def sc(fake_stripe: StripeControl, http: stripe.AIOHTTPClient) -> stripe.StripeClient:
    return fake_stripe.client(http)


@pytest.fixture
async def customer(sc: stripe.StripeClient) -> str:
    created = await sc.v1.customers.create_async(
        {"name": "Merchant 1", "metadata": {"merchant_id": "m1"}},
        {"idempotency_key": f"customer:{uuid.uuid4()}"},
    )
    return str(created.id)
