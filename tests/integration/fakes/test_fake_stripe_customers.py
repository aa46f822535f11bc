"""The fake Stripe's customers, payment methods and replay checks, via the real SDK."""

from __future__ import annotations

import uuid

import pytest
import stripe

from tests.fakes.stripe.control import StripeControl


def key(prefix: str = "k") -> str:
    return f"{prefix}:{uuid.uuid4()}"


async def new_customer(sc: stripe.StripeClient, merchant: str = "m1") -> stripe.Customer:
    return await sc.v1.customers.create_async(
        {"name": f"Merchant {merchant}", "metadata": {"merchant_id": merchant}},
        {"idempotency_key": key("customer")},
    )


async def test_customer_create_is_idempotent_per_key(
    sc: stripe.StripeClient, fake_stripe: StripeControl
) -> None:
    k = key("customer")
    params: dict[str, object] = {"name": "Merchant 1", "metadata": {"merchant_id": "m1"}}
    first = await sc.v1.customers.create_async(params, {"idempotency_key": k})  # type: ignore[arg-type]
    again = await sc.v1.customers.create_async(params, {"idempotency_key": k})  # type: ignore[arg-type]
    assert first.id.startswith("cus_") and again.id == first.id
    assert len(await fake_stripe.customers()) == 1
    fetched = await sc.v1.customers.retrieve_async(first.id)
    assert fetched.metadata["merchant_id"] == "m1"
    assert fetched.invoice_settings is not None
    assert fetched.invoice_settings.default_payment_method is None


async def test_attach_and_set_default(sc: stripe.StripeClient) -> None:
    customer = await new_customer(sc)
    method = await sc.v1.payment_methods.attach_async(
        "pm_card_visa", {"customer": customer.id}, {"idempotency_key": key("attach")}
    )
    assert method.id.startswith("pm_") and method.id != "pm_card_visa"
    assert method.customer == customer.id
    assert method.card is not None and method.card.last4 == "4242"
    updated = await sc.v1.customers.update_async(
        customer.id,
        {"invoice_settings": {"default_payment_method": method.id}},
        {"idempotency_key": key("default")},
    )
    assert updated.invoice_settings is not None
    assert updated.invoice_settings.default_payment_method == method.id
    listed = await sc.v1.customers.payment_methods.list_async(customer.id)
    assert [m.id for m in listed.data] == [method.id]


async def test_default_must_be_attached_to_that_customer(sc: stripe.StripeClient) -> None:
    one, other = await new_customer(sc, "m1"), await new_customer(sc, "m2")
    method = await sc.v1.payment_methods.attach_async("pm_card_visa", {"customer": other.id})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await sc.v1.customers.update_async(
            one.id, {"invoice_settings": {"default_payment_method": method.id}}
        )
    assert caught.value.param == "invoice_settings[default_payment_method]"
    with pytest.raises(stripe.InvalidRequestError, match="already been attached"):
        await sc.v1.payment_methods.attach_async(method.id, {"customer": one.id})
    with pytest.raises(stripe.InvalidRequestError) as missing:
        await sc.v1.payment_methods.attach_async("pm_card_visa", {"customer": "cus_missing"})
    assert (missing.value.code, missing.value.param) == ("resource_missing", "customer")


async def test_detached_method_cannot_be_charged(sc: stripe.StripeClient) -> None:
    customer = await new_customer(sc)
    method = await sc.v1.payment_methods.attach_async("pm_card_visa", {"customer": customer.id})
    await sc.v1.customers.update_async(
        customer.id, {"invoice_settings": {"default_payment_method": method.id}}
    )
    detached = await sc.v1.payment_methods.detach_async(method.id)
    assert detached.customer is None
    after = await sc.v1.customers.retrieve_async(customer.id)
    assert after.invoice_settings is not None
    assert after.invoice_settings.default_payment_method is None
    with pytest.raises(stripe.InvalidRequestError, match="may not be used again"):
        await sc.v1.payment_intents.create_async(
            {
                "amount": 2500,
                "currency": "usd",
                "customer": customer.id,
                "payment_method": method.id,
                "confirm": True,
                "off_session": True,
            }
        )


def off_session(customer: str, method: str) -> dict[str, object]:
    return {
        "amount": 2500,
        "currency": "usd",
        "customer": customer,
        "payment_method": method,
        "confirm": True,
        "off_session": True,
        "metadata": {"billing_event_id": "be_1"},
    }


async def test_off_session_charge_of_the_attached_default(
    sc: stripe.StripeClient, fake_stripe: StripeControl
) -> None:
    customer = await new_customer(sc)
    method = await sc.v1.payment_methods.attach_async("pm_card_visa", {"customer": customer.id})
    intent = await sc.v1.payment_intents.create_async(
        off_session(customer.id, method.id),  # type: ignore[arg-type]
        {"idempotency_key": "billing:be_1"},
    )
    assert (intent.status, intent.customer, intent.payment_method) == (
        "succeeded",
        customer.id,
        method.id,
    )
    other = await new_customer(sc, "m2")
    with pytest.raises(stripe.InvalidRequestError, match="does not belong"):
        await sc.v1.payment_intents.create_async(off_session(other.id, method.id))  # type: ignore[arg-type]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await sc.v1.payment_intents.create_async(off_session("cus_missing", method.id))  # type: ignore[arg-type]
    assert (caught.value.code, caught.value.param) == ("resource_missing", "customer")
    assert len(await fake_stripe.payment_intents()) == 1


@pytest.mark.parametrize(
    ("token", "code", "decline"),
    [
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("pm_card_authenticationRequired", "authentication_required", "authentication_required"),
    ],
)
async def test_attached_copies_of_declining_tokens_decline(
    sc: stripe.StripeClient, token: str, code: str, decline: str
) -> None:
    customer = await new_customer(sc)
    method = await sc.v1.payment_methods.attach_async(token, {"customer": customer.id})
    with pytest.raises(stripe.CardError) as caught:
        await sc.v1.payment_intents.create_async(
            off_session(customer.id, method.id),  # type: ignore[arg-type]
            {"idempotency_key": key("billing")},
        )
    assert caught.value.code == code
    assert caught.value.error is not None and caught.value.error.decline_code == decline
    assert caught.value.error.payment_intent is not None
    assert caught.value.error.payment_intent["status"] == "requires_payment_method"


async def test_replays_are_checked_byte_for_byte(
    sc: stripe.StripeClient, fake_stripe: StripeControl
) -> None:
    customer = await new_customer(sc)
    params = off_session(customer.id, "pm_card_visa")
    await sc.v1.payment_intents.create_async(params, {"idempotency_key": "billing:be_9"})  # type: ignore[arg-type]
    await sc.v1.payment_intents.create_async(params, {"idempotency_key": "billing:be_9"})  # type: ignore[arg-type]
    with pytest.raises(stripe.IdempotencyError):
        await sc.v1.payment_intents.create_async(
            {**params, "amount": 2600},  # type: ignore[arg-type]
            {"idempotency_key": "billing:be_9"},
        )
    assert await fake_stripe.idempotency_mismatches() == 1
    first, replay, changed = await fake_stripe.requests("payment_intents.create")
    assert first["body_sha256"] == replay["body_sha256"] != changed["body_sha256"]
    assert len(await fake_stripe.payment_intents()) == 1


async def test_strict_replays_want_the_same_order_of_parameters(
    sc: stripe.StripeClient, fake_stripe: StripeControl
) -> None:
    customer = await new_customer(sc)
    params = off_session(customer.id, "pm_card_visa")
    reordered = dict(reversed(list(params.items())))
    await sc.v1.payment_intents.create_async(params, {"idempotency_key": "billing:be_o"})  # type: ignore[arg-type]
    with pytest.raises(stripe.IdempotencyError):
        await sc.v1.payment_intents.create_async(reordered, {"idempotency_key": "billing:be_o"})  # type: ignore[arg-type]
    await fake_stripe.configure(strict_replays=False)  # Stripe's own comparison: as a set
    again = await sc.v1.payment_intents.create_async(
        reordered,  # type: ignore[arg-type]
        {"idempotency_key": "billing:be_o"},
    )
    assert again.last_response is not None
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(await fake_stripe.payment_intents()) == 1
