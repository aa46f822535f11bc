"""The fake Stripe's PaymentIntents (off-session charges, declines, validation), via the real
stripe SDK."""

from __future__ import annotations

import uuid

import pytest
import stripe

from tests.fakes.stripe.control import StripeControl


def key() -> str:
    return f"billing:{uuid.uuid4()}"


def charge_params(customer: str, pm: str = "pm_card_visa") -> dict[str, object]:
    return {
        "amount": 2500,
        "currency": "usd",
        "customer": customer,
        "payment_method": pm,
        "confirm": True,
        "off_session": True,
        "metadata": {"billing_event_id": "be_1"},
    }


async def test_off_session_charge_succeeds(
    sc: stripe.StripeClient, fake_stripe: StripeControl, customer: str
) -> None:
    intent = await sc.v1.payment_intents.create_async(
        charge_params(customer), {"idempotency_key": key()}
    )
    assert intent.id.startswith("pi_") and intent.status == "succeeded"
    assert intent.amount_received == 2500 and str(intent.latest_charge).startswith("ch_")
    fetched = await sc.v1.payment_intents.retrieve_async(intent.id)
    assert fetched.status == "succeeded"
    balance = await sc.v1.balance.retrieve_async()
    assert balance.pending[0].amount == 2500


async def test_injected_decline_is_a_card_error_and_replayed(
    sc: stripe.StripeClient, fake_stripe: StripeControl, customer: str
) -> None:
    await fake_stripe.decline_next("insufficient_funds")
    k = key()
    with pytest.raises(stripe.CardError) as caught:
        await sc.v1.payment_intents.create_async(charge_params(customer), {"idempotency_key": k})
    err = caught.value
    assert (err.http_status, err.code) == (402, "card_declined")
    assert err.error is not None and err.error.decline_code == "insufficient_funds"
    assert err.error.payment_intent is not None
    intent_id = err.error.payment_intent["id"]
    stored = await sc.v1.payment_intents.retrieve_async(intent_id)
    assert stored.status == "requires_payment_method"
    assert stored.last_payment_error is not None
    assert stored.last_payment_error.decline_code == "insufficient_funds"
    with pytest.raises(stripe.CardError) as again:  # executed: the decline is stored
        await sc.v1.payment_intents.create_async(charge_params(customer), {"idempotency_key": k})
    assert again.value.headers["Idempotent-Replayed"] == "true"
    assert len(await fake_stripe.payment_intents()) == 1
    ok = await sc.v1.payment_intents.create_async(
        charge_params(customer), {"idempotency_key": key()}
    )
    assert ok.status == "succeeded"


@pytest.mark.parametrize(
    ("pm", "code", "decline"),
    [
        ("pm_card_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_authenticationRequired", "authentication_required", "authentication_required"),
    ],
)
async def test_test_payment_methods_decline(
    sc: stripe.StripeClient, customer: str, pm: str, code: str, decline: str
) -> None:
    with pytest.raises(stripe.CardError) as caught:
        await sc.v1.payment_intents.create_async(
            charge_params(customer, pm), {"idempotency_key": key()}
        )
    assert caught.value.code == code
    assert caught.value.error is not None and caught.value.error.decline_code == decline


async def test_intent_validation(sc: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await sc.v1.payment_intents.create_async({"amount": 10, "currency": "usd"})
    assert caught.value.code == "amount_too_small"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await sc.v1.payment_intents.create_async(
            {"amount": 100, "currency": "usd", "confirm": True}
        )
    assert caught.value.param == "payment_method"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await sc.v1.payment_intents.retrieve_async("pi_missing")
    assert caught.value.http_status == 404
