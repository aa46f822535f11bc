"""The fake Stripe v1 (transfers, PaymentIntents, balance, events), via the real stripe SDK."""

from __future__ import annotations

import uuid

import pytest
import stripe

from tests.fakes.stripe.control import StripeControl
from tests.support.polling import eventually

DEST = "acct_1Driver0000000000000001"


@pytest.fixture(autouse=True)
async def destination(fake_stripe: StripeControl) -> None:
    """The onboarded connected account the transfers go to."""
    await fake_stripe.create_account(DEST)


def key() -> str:
    return f"payout:{uuid.uuid4()}"


def transfer_params(group: str = "payout_1", amount: int = 1500) -> dict[str, object]:
    return {
        "amount": amount,
        "currency": "usd",
        "destination": DEST,
        "transfer_group": group,
        "metadata": {"payout_id": group},
    }


async def test_transfer_create_retrieve(
    sc: stripe.StripeClient, fake_stripe: StripeControl
) -> None:
    created = await sc.v1.transfers.create_async(transfer_params(), {"idempotency_key": key()})
    assert created.id.startswith("tr_") and created.object == "transfer"
    assert (created.amount, created.currency, created.destination) == (1500, "usd", DEST)
    assert created.transfer_group == "payout_1" and created.metadata["payout_id"] == "payout_1"
    assert created.last_response is not None
    assert created.last_response.request_id.startswith("req_")
    fetched = await sc.v1.transfers.retrieve_async(created.id)
    assert fetched.id == created.id and fetched.amount == 1500
    balance = await sc.v1.balance.retrieve_async()
    assert balance.available[0].amount == fake_stripe.config.initial_available - 1500


async def test_same_key_same_params_replays(
    sc: stripe.StripeClient, fake_stripe: StripeControl
) -> None:
    k = key()
    first = await sc.v1.transfers.create_async(transfer_params(), {"idempotency_key": k})
    again = await sc.v1.transfers.create_async(transfer_params(), {"idempotency_key": k})
    assert again.id == first.id
    assert again.last_response is not None and first.last_response is not None
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert again.last_response.headers["Original-Request"] == first.last_response.request_id
    assert again.last_response.body == first.last_response.body
    assert "Idempotent-Replayed" not in first.last_response.headers
    assert len(await fake_stripe.transfers()) == 1
    assert await fake_stripe.calls("transfers.create") == 2


async def test_same_key_other_params_is_idempotency_error(
    sc: stripe.StripeClient, fake_stripe: StripeControl
) -> None:
    k = key()
    await sc.v1.transfers.create_async(transfer_params(), {"idempotency_key": k})
    with pytest.raises(stripe.IdempotencyError) as caught:
        await sc.v1.transfers.create_async(transfer_params(amount=1501), {"idempotency_key": k})
    assert caught.value.http_status == 400
    assert "same parameters" in str(caught.value.user_message)
    with pytest.raises(stripe.IdempotencyError):  # another endpoint, same key
        await sc.v1.payment_intents.create_async(
            {"amount": 1500, "currency": "usd"}, {"idempotency_key": k}
        )
    assert len(await fake_stripe.transfers()) == 1


async def test_keys_are_per_account(sc: stripe.StripeClient, fake_stripe: StripeControl) -> None:
    k = key()
    one = await sc.v1.transfers.create_async(transfer_params(), {"idempotency_key": k})
    two = await sc.v1.transfers.create_async(
        transfer_params(), {"idempotency_key": k, "stripe_account": "acct_other000000000000001"}
    )
    assert one.id != two.id


async def test_keys_expire_after_24h(sc: stripe.StripeClient, fake_stripe: StripeControl) -> None:
    k = key()
    first = await sc.v1.transfers.create_async(transfer_params(), {"idempotency_key": k})
    await fake_stripe.advance_clock(24 * 3600 + 1)
    later = await sc.v1.transfers.create_async(transfer_params(), {"idempotency_key": k})
    assert later.id != first.id
    assert len(await fake_stripe.transfers()) == 2


async def test_list_by_transfer_group_and_pages(sc: stripe.StripeClient) -> None:
    ids = []
    for group in ("payout_a", "payout_b", "payout_a", "payout_a"):
        t = await sc.v1.transfers.create_async(transfer_params(group), {"idempotency_key": key()})
        ids.append((group, t.id))
    listed = await sc.v1.transfers.list_async({"transfer_group": "payout_a"})
    expected = [i for g, i in reversed(ids) if g == "payout_a"]
    assert [t.id for t in listed.data] == expected and listed.has_more is False
    first_page = await sc.v1.transfers.list_async({"transfer_group": "payout_a", "limit": 2})
    assert [t.id for t in first_page.data] == expected[:2] and first_page.has_more is True
    rest = await sc.v1.transfers.list_async(
        {"transfer_group": "payout_a", "limit": 2, "starting_after": expected[1]}
    )
    assert [t.id for t in rest.data] == expected[2:]
    everything = [t.id async for t in first_page.auto_paging_iter()]
    assert everything == expected
    assert (await sc.v1.transfers.list_async({"transfer_group": "none"})).data == []


async def test_validation_errors_are_not_stored(
    sc: stripe.StripeClient, fake_stripe: StripeControl
) -> None:
    k = key()
    bad = {"currency": "usd", "destination": DEST}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await sc.v1.transfers.create_async(bad, {"idempotency_key": k})  # type: ignore[arg-type]
    assert (caught.value.http_status, caught.value.code, caught.value.param) == (
        400,
        "parameter_missing",
        "amount",
    )
    created = await sc.v1.transfers.create_async(transfer_params(), {"idempotency_key": k})
    assert created.id.startswith("tr_")


async def test_insufficient_balance_is_stored_under_the_key(
    sc: stripe.StripeClient, fake_stripe: StripeControl
) -> None:
    await fake_stripe.set_balance(available=1000)
    k = key()
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await sc.v1.transfers.create_async(transfer_params(amount=1500), {"idempotency_key": k})
    assert caught.value.code == "balance_insufficient"
    await fake_stripe.set_balance(available=100_000)
    with pytest.raises(stripe.InvalidRequestError) as again:  # Stripe replays the stored 400
        await sc.v1.transfers.create_async(transfer_params(amount=1500), {"idempotency_key": k})
    assert again.value.code == "balance_insufficient"
    assert again.value.headers["Idempotent-Replayed"] == "true"
    ok = await sc.v1.transfers.create_async(
        transfer_params(amount=1500), {"idempotency_key": key()}
    )
    assert ok.amount == 1500


async def test_unknown_transfer_is_resource_missing(sc: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await sc.v1.transfers.retrieve_async("tr_missing")
    assert (caught.value.http_status, caught.value.code) == (404, "resource_missing")


async def test_wrong_api_key_is_401(fake_stripe: StripeControl, http: stripe.AIOHTTPClient) -> None:
    client = fake_stripe.client(http, api_key="sk_test_wrong_key_1234")
    with pytest.raises(stripe.AuthenticationError) as caught:
        await client.v1.balance.retrieve_async()
    assert caught.value.http_status == 401
    assert "sk_test_wrong_key_1234" not in str(caught.value.user_message)
    assert caught.value.request_id is not None and caught.value.request_id.startswith("req_")


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (500, None, stripe.APIError),
        (429, "rate_limit", stripe.RateLimitError),
        (409, "idempotency_key_in_use", stripe.APIError),
    ],
)
async def test_injected_errors_are_not_executed(
    sc: stripe.StripeClient,
    fake_stripe: StripeControl,
    status: int,
    code: str | None,
    error: type[stripe.StripeError],
) -> None:
    await fake_stripe.fail_next("transfers.create", status=status, code=code)
    k = key()
    with pytest.raises(error) as caught:
        await sc.v1.transfers.create_async(transfer_params(), {"idempotency_key": k})
    assert caught.value.http_status == status
    assert caught.value.error is not None and caught.value.error.code == code
    assert await fake_stripe.transfers() == []
    created = await sc.v1.transfers.create_async(transfer_params(), {"idempotency_key": k})
    assert created.id.startswith("tr_")


async def test_cached_500_is_replayed(sc: stripe.StripeClient, fake_stripe: StripeControl) -> None:
    await fake_stripe.fail_next("transfers.create", status=500, cache=True)
    k = key()
    for _ in range(2):
        with pytest.raises(stripe.APIError) as caught:
            await sc.v1.transfers.create_async(transfer_params(), {"idempotency_key": k})
        assert caught.value.http_status == 500
    assert caught.value.headers["Idempotent-Replayed"] == "true"
    assert await fake_stripe.transfers() == []


async def test_sdk_retries_injected_failures_with_the_same_key(
    fake_stripe: StripeControl, http: stripe.AIOHTTPClient
) -> None:
    client = fake_stripe.client(http, max_network_retries=2)
    await fake_stripe.fail_next("transfers.create", status=500, times=2)
    created = await client.v1.transfers.create_async(transfer_params(), {"idempotency_key": key()})
    requests = await fake_stripe.requests("transfers.create")
    assert [r["status"] for r in requests] == [500, 500, 200]
    assert len({r["idempotency_key"] for r in requests}) == 1
    assert [t["id"] for t in await fake_stripe.transfers()] == [created.id]


async def test_commit_then_timeout_leaves_the_transfer_created(
    fake_stripe: StripeControl,
) -> None:
    http = stripe.AIOHTTPClient(timeout=0.5)
    client = fake_stripe.client(http)
    try:
        await fake_stripe.commit_then_timeout("transfers.create", seconds=30)
        k = key()
        with pytest.raises(stripe.APIConnectionError):
            await client.v1.transfers.create_async(transfer_params(), {"idempotency_key": k})
        [made] = await fake_stripe.transfers()
        retried = await client.v1.transfers.create_async(transfer_params(), {"idempotency_key": k})
        assert retried.id == made["id"]
        assert retried.last_response is not None
        assert retried.last_response.headers["Idempotent-Replayed"] == "true"
        assert len(await fake_stripe.transfers()) == 1
        listed = await client.v1.transfers.list_async({"transfer_group": "payout_1"})
        assert [t.id for t in listed.data] == [made["id"]]
    finally:
        await http.close_async()


async def test_latency_times_out_and_in_flight_key_is_409(fake_stripe: StripeControl) -> None:
    slow_http = stripe.AIOHTTPClient(timeout=0.5)
    http = stripe.AIOHTTPClient(timeout=5)
    try:
        slow = fake_stripe.client(slow_http)
        fast = fake_stripe.client(http)
        await fake_stripe.add_latency("transfers.create", seconds=30)
        k = key()
        with pytest.raises(stripe.APIConnectionError):
            await slow.v1.transfers.create_async(transfer_params(), {"idempotency_key": k})
        with pytest.raises(stripe.APIError) as caught:  # the first is still executing
            await fast.v1.transfers.create_async(transfer_params(), {"idempotency_key": k})
        assert caught.value.http_status == 409
        assert caught.value.error is not None
        assert caught.value.error.code == "idempotency_key_in_use"
        assert await fake_stripe.transfers() == []
    finally:
        await slow_http.close_async()
        await http.close_async()


async def test_disconnect_is_a_connection_error(
    sc: stripe.StripeClient, fake_stripe: StripeControl
) -> None:
    await fake_stripe.disconnect_next("transfers.create")
    with pytest.raises(stripe.APIConnectionError):
        await sc.v1.transfers.create_async(transfer_params(), {"idempotency_key": key()})
    assert await fake_stripe.transfers() == []


# ---------------------------------------------------------------- events and counters


async def test_events_list_and_retrieve(sc: stripe.StripeClient, customer: str) -> None:
    transfer = await sc.v1.transfers.create_async(transfer_params(), {"idempotency_key": key()})
    charge = {"amount": 2500, "currency": "usd", "customer": customer}
    charge |= {"payment_method": "pm_card_visa", "confirm": True, "off_session": True}
    await sc.v1.payment_intents.create_async(charge, {"idempotency_key": key()})
    created = await sc.v1.events.list_async({"type": "transfer.created"})
    [event] = created.data
    assert event.id.startswith("evt_") and event.data.object["id"] == transfer.id
    assert (await sc.v1.events.retrieve_async(event.id)).type == "transfer.created"
    intents = await sc.v1.events.list_async({"type": "payment_intent.*"})
    assert [e.type for e in intents.data] == ["payment_intent.succeeded", "payment_intent.created"]
    with pytest.raises(stripe.InvalidRequestError):
        await sc.v1.events.retrieve_async("evt_missing")


async def test_current_account_checks_credentials(sc: stripe.StripeClient) -> None:
    account = await sc.v1.accounts.retrieve_current_async()
    assert account.id.startswith("acct_") and account.charges_enabled is True


async def test_counters_per_endpoint(sc: stripe.StripeClient, fake_stripe: StripeControl) -> None:
    await sc.v1.balance.retrieve_async()
    await sc.v1.balance.retrieve_async()
    await sc.v1.transfers.list_async()
    assert await fake_stripe.call_counts() == {"balance.retrieve": 2, "transfers.list": 1}
    assert await fake_stripe.calls() == 3


async def test_reset_ends_hung_calls_without_effect(fake_stripe: StripeControl) -> None:
    http = stripe.AIOHTTPClient(timeout=0.3)
    try:
        client = fake_stripe.client(http)
        await fake_stripe.add_latency("transfers.create", seconds=60)
        with pytest.raises(stripe.APIConnectionError):
            await client.v1.transfers.create_async(transfer_params(), {"idempotency_key": key()})
        assert await fake_stripe.in_flight() == 1  # still hung after the client gave up
        await fake_stripe.reset()

        async def released() -> bool:
            return await fake_stripe.in_flight() == 0

        await eventually(released, what="the hung transfers.create to end after the reset")
        assert await fake_stripe.transfers() == []
    finally:
        await http.close_async()
