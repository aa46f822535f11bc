"""The payments app builds its one Stripe client in the lifespan and closes it on shutdown."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import stripe
from payments import stripe_requests as req
from payments.stripe_errors import StripeAmbiguousError
from payments.stripe_provider import StripePaymentProvider

from tests.fakes.stripe.control import StripeControl
from tests.support.jwt_tokens import TestSigningKeys
from tests.support.payments_service import SettingsFactory, running


async def test_app_starts_with_the_stripe_provider_and_closes_it(
    payments_settings: SettingsFactory,
    signing_keys: TestSigningKeys,
    fake_stripe: StripeControl,
) -> None:
    async with running(payments_settings(), signing_keys) as client:
        provider = client.deps.stripe
        assert isinstance(provider, StripePaymentProvider)
        merchant = str(uuid.uuid4())
        customer = await provider.create_customer(req.customer_request(merchant, name="Cafe"))
        assert customer.metadata["merchant_id"] == merchant
        assert [c["id"] for c in await fake_stripe.customers()] == [customer.id]
        metrics = await client.http.get("/metrics")
        assert 'stripe_calls_total{operation="customers.create",outcome="ok"} 1.0' in metrics.text
        event = {
            "id": "evt_1",
            "object": "event",
            "type": "customer.created",
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": {"id": customer.id}},
        }
        raw = json.dumps(event).encode()
        header = stripe.WebhookSignature.generate_signature_header(
            raw.decode(), fake_stripe.webhook_secret, int(time.time())
        )
        assert client.deps.webhooks.verify(raw, header).event_id == "evt_1"
    # shut down: the provider's HTTP session is closed, so no call leaves any more
    with pytest.raises(StripeAmbiguousError) as caught:
        await provider.create_customer(req.customer_request(str(uuid.uuid4()), name="Late"))
    sdk_error = caught.value.__cause__
    assert isinstance(sdk_error, stripe.APIConnectionError)
    assert repr(sdk_error.__cause__) == "RuntimeError('Session is closed')"
