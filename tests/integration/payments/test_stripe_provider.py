"""The Stripe adapter's calls, through the real SDK against the fake Stripe (issue 14, §6c I).

Billing (customer, payment method, off-session charge), Connect (Express account, onboarding
link, account readiness), transfers (create, list by group, reverse), reads and event listing;
every POST sent from a stored request with our key.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from common.telemetry import setup_tracing
from opentelemetry.trace import SpanKind
from payments import stripe_provider
from payments import stripe_requests as req
from payments.stripe_errors import StripeCardDeclinedError, StripeNotFoundError
from payments.stripe_provider import StripePaymentProvider
from payments.stripe_requests import StripeRequest
from prometheus_client import CollectorRegistry

from tests.fakes.stripe.control import StripeControl
from tests.support.spans import captured_spans

REFRESH = "https://driver.nerava.test/payouts/refresh"
RETURN = "https://driver.nerava.test/payouts/return"


@pytest.fixture
async def provider(fake_stripe: StripeControl) -> AsyncIterator[StripePaymentProvider]:
    built = StripePaymentProvider.create(
        api_key=fake_stripe.api_key,
        api_version="2026-10-28.endive",
        timeout_seconds=2.0,
        connect_timeout_seconds=1.0,
        api_base=fake_stripe.url,
        registry=CollectorRegistry(),
    )
    try:
        yield built
    finally:
        await built.close()


def uid() -> str:
    return str(uuid.uuid4())


def stored(request: StripeRequest) -> StripeRequest:
    """What a later attempt rebuilds from the database: a JSONB column reorders the keys."""

    def reorder(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: reorder(value[k]) for k in sorted(value, reverse=True)}
        return value

    return StripeRequest.from_json(reorder(json.loads(request.to_json())))


async def ready_account(fake_stripe: StripeControl) -> str:
    return str((await fake_stripe.create_account())["id"])


def payout(destination: str, amount: int = 1500) -> tuple[str, StripeRequest]:
    payout_id = uid()
    return payout_id, req.transfer_request(
        payout_id, amount_minor=amount, currency="USD", destination=destination, driver_id="d1"
    )


# ---------------------------------------------------------------- payouts


async def test_transfer_carries_our_key_group_metadata_and_api_version(
    provider: StripePaymentProvider, fake_stripe: StripeControl
) -> None:
    destination = await ready_account(fake_stripe)
    payout_id, request = payout(destination)
    transfer = await provider.create_transfer(request)
    assert transfer.id.startswith("tr_") and transfer.answer.replayed is False
    assert (transfer.amount, transfer.currency, transfer.destination) == (1500, "usd", destination)
    assert transfer.transfer_group == f"payout_{payout_id}"
    assert transfer.metadata == {"payout_id": payout_id, "driver_id": "d1"}
    [sent] = await fake_stripe.requests("transfers.create")
    assert sent["idempotency_key"] == f"payout:{payout_id}"
    assert sent["stripe_version"] == "2026-10-28.endive"


async def test_a_stored_request_replays_byte_identical_and_moves_money_once(
    provider: StripePaymentProvider, fake_stripe: StripeControl
) -> None:
    destination = await ready_account(fake_stripe)
    _, request = payout(destination)
    first = await provider.create_transfer(request)
    again = await provider.create_transfer(stored(request))
    assert again.id == first.id and again.answer.replayed is True
    one, two = await fake_stripe.requests("transfers.create")
    assert one["body_sha256"] == two["body_sha256"]
    assert one["idempotency_key"] == two["idempotency_key"]
    assert await fake_stripe.idempotency_mismatches() == 0
    assert len(await fake_stripe.transfers()) == 1


async def test_list_by_transfer_group_finds_the_payout_transfer(
    provider: StripePaymentProvider, fake_stripe: StripeControl
) -> None:
    destination = await ready_account(fake_stripe)
    payout_id, request = payout(destination)
    made = await provider.create_transfer(request)
    await provider.create_transfer(payout(destination)[1])  # another payout's
    found = await provider.list_transfers(req.transfer_group(payout_id))
    assert [(t.id, t.metadata["payout_id"]) for t in found] == [(made.id, payout_id)]
    assert await provider.list_transfers("payout_none") == []
    assert (await provider.retrieve_transfer(made.id)).amount == 1500


async def test_after_the_24h_key_window_only_the_list_is_safe(
    provider: StripePaymentProvider, fake_stripe: StripeControl
) -> None:
    """Why the reconciler stops replaying: past Stripe's key window a replay pays twice."""
    destination = await ready_account(fake_stripe)
    payout_id, request = payout(destination)
    await provider.create_transfer(request)
    await fake_stripe.advance_clock(24 * 3600 + 1)
    found = await provider.list_transfers(req.transfer_group(payout_id))
    assert len(found) == 1
    await provider.create_transfer(stored(request))
    assert len(await provider.list_transfers(req.transfer_group(payout_id))) == 2


async def test_reverse_a_duplicate_transfer_once(
    provider: StripePaymentProvider, fake_stripe: StripeControl
) -> None:
    destination = await ready_account(fake_stripe)
    payout_id, request = payout(destination)
    transfer = await provider.create_transfer(request)
    reversal = req.transfer_reversal_request(payout_id, transfer.id, reason="duplicate")
    done = await provider.reverse_transfer(reversal)
    again = await provider.reverse_transfer(stored(reversal))
    assert done.id.startswith("trr_") and again.id == done.id and again.answer.replayed
    assert (done.transfer, done.amount, done.metadata["reason"]) == (transfer.id, 1500, "duplicate")
    after = await provider.retrieve_transfer(transfer.id)
    assert (after.amount_reversed, after.reversed) == (1500, True)
    assert len(await fake_stripe.transfer_reversals()) == 1


# ---------------------------------------------------------------- connected accounts


async def test_connected_account_onboarding_until_payouts_are_enabled(
    provider: StripePaymentProvider, fake_stripe: StripeControl
) -> None:
    driver = uid()
    created = await provider.create_connected_account(
        req.connected_account_request(driver, country="US")
    )
    assert created.id.startswith("acct_") and created.can_receive_payouts is False
    assert created.metadata == {"driver_id": driver} and created.currently_due
    same = await provider.create_connected_account(
        req.connected_account_request(driver, country="US")
    )
    assert same.id == created.id and same.answer.replayed
    link = await provider.create_account_link(
        req.account_link_request(created.id, link_id=uid(), refresh_url=REFRESH, return_url=RETURN)
    )
    assert link.expires_at > link.created
    assert await fake_stripe.visit_onboarding(link.url) == RETURN
    ready = await provider.retrieve_account(created.id)
    assert ready.can_receive_payouts and ready.currently_due == ()
    events = [e async for e in provider.list_events(types=["account.updated"], account=created.id)]
    [event] = events
    assert (event.account, event.object_id) == (created.id, created.id)
    assert event.payload["data"]["object"]["payouts_enabled"] is True
    fetched = await provider.retrieve_event(event.id, account=created.id)
    assert fetched.type == "account.updated"
    assert [e async for e in provider.list_events(types=["account.updated"])] == []


# ---------------------------------------------------------------- merchant billing


async def merchant_with_card(
    provider: StripePaymentProvider, token: str = "pm_card_visa"
) -> tuple[str, str]:
    merchant = uid()
    customer = await provider.create_customer(req.customer_request(merchant, name="Cafe"))
    method = await provider.attach_payment_method(
        req.attach_payment_method_request(customer.id, token)
    )
    updated = await provider.set_default_payment_method(
        req.default_payment_method_request(customer.id, method.id, change_id=uid())
    )
    assert updated.default_payment_method == method.id
    return customer.id, method.id


def charge(customer: str, method: str, billing_event_id: str | None = None) -> StripeRequest:
    return req.off_session_charge_request(
        billing_event_id or uid(),
        amount_minor=2500,
        currency="usd",
        customer_id=customer,
        payment_method_id=method,
        merchant_id="m1",
        session_id="s1",
    )


async def test_customer_is_created_once_per_merchant(
    provider: StripePaymentProvider, fake_stripe: StripeControl
) -> None:
    merchant = uid()
    first = await provider.create_customer(req.customer_request(merchant, name="Cafe"))
    again = await provider.create_customer(req.customer_request(merchant, name="Cafe"))
    assert again.id == first.id and first.metadata == {"merchant_id": merchant}
    assert len(await fake_stripe.customers()) == 1
    assert (await provider.retrieve_customer(first.id)).id == first.id


async def test_off_session_charge_once_per_billing_event(
    provider: StripePaymentProvider, fake_stripe: StripeControl
) -> None:
    customer, method = await merchant_with_card(provider)
    request = charge(customer, method, "be-1")
    intent = await provider.charge_off_session(request)
    assert intent.succeeded and intent.amount_received == 2500
    assert intent.metadata["billing_event_id"] == "be-1"
    again = await provider.charge_off_session(stored(request))
    assert again.id == intent.id and again.answer.replayed
    [sent, _] = await fake_stripe.requests("payment_intents.create")
    assert sent["idempotency_key"] == "billing:be-1"
    assert [c["id"] for c in await fake_stripe.charges()] == [intent.id]
    assert (await provider.retrieve_payment_intent(intent.id)).status == "succeeded"


@pytest.mark.parametrize(
    ("token", "decline", "needs_auth"),
    [
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds", False),
        ("pm_card_authenticationRequired", "authentication_required", True),
    ],
)
async def test_a_decline_is_definitive_and_replays_the_same(
    provider: StripePaymentProvider,
    fake_stripe: StripeControl,
    token: str,
    decline: str,
    needs_auth: bool,
) -> None:
    customer, method = await merchant_with_card(provider, token)
    request = charge(customer, method)
    with pytest.raises(StripeCardDeclinedError) as caught:
        await provider.charge_off_session(request)
    error = caught.value
    assert (error.decline_code, error.requires_authentication) == (decline, needs_auth)
    assert error.http_status == 402 and error.error_code == decline
    assert error.payment_intent_id is not None and not error.may_have_acted
    assert error.idempotency_key == request.idempotency_key
    intent = await provider.retrieve_payment_intent(error.payment_intent_id)
    assert intent.status == "requires_payment_method" and intent.last_error_code == decline
    with pytest.raises(StripeCardDeclinedError) as again:
        await provider.charge_off_session(stored(request))
    assert again.value.payment_intent_id == error.payment_intent_id
    assert len(await fake_stripe.payment_intents()) == 1 and await fake_stripe.charges() == []


# ---------------------------------------------------------------- reads and events


async def test_missing_objects_are_not_found(provider: StripePaymentProvider) -> None:
    for read in (
        provider.retrieve_transfer("tr_missing"),
        provider.retrieve_account("acct_missing"),
        provider.retrieve_payment_intent("pi_missing"),
        provider.retrieve_event("evt_missing"),
    ):
        with pytest.raises(StripeNotFoundError) as caught:
            await read
        assert caught.value.http_status == 404 and not caught.value.may_have_acted


async def test_events_are_listed_across_pages_for_backfill(
    provider: StripePaymentProvider,
    fake_stripe: StripeControl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stripe_provider, "PAGE_SIZE", 2)
    destination = await ready_account(fake_stripe)
    made = [await provider.create_transfer(payout(destination, 100 + i)[1]) for i in range(5)]
    listed = [e async for e in provider.list_events(types=["transfer.created"])]
    assert [e.object_id for e in listed] == [t.id for t in reversed(made)]
    assert json.loads(json.dumps(listed[0].payload)) == listed[0].payload  # storable as JSONB
    assert len(await fake_stripe.requests("events.list")) == 3
    recent = [
        e async for e in provider.list_events(types=["transfer.*"], created_gte=listed[0].created)
    ]
    assert recent and all(e.created >= listed[0].created for e in recent)


async def test_each_call_is_one_span_around_the_http_client_span(
    provider: StripePaymentProvider, fake_stripe: StripeControl
) -> None:
    setup_tracing("payments-tests", None)
    destination = await ready_account(fake_stripe)
    payout_id, request = payout(destination)
    with captured_spans() as spans:
        await provider.create_transfer(request)
    finished = spans.get_finished_spans()
    [call] = [s for s in finished if s.name == "stripe transfers.create"]
    attributes = dict(call.attributes or {})
    assert attributes["stripe.idempotency_key"] == f"payout:{payout_id}"
    assert attributes["stripe.outcome"] == "ok"
    http = [s for s in finished if s.kind is SpanKind.CLIENT]
    assert http and all(
        s.parent is not None and s.parent.span_id == call.context.span_id for s in http
    )
