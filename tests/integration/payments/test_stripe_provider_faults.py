"""What each Stripe failure means, through the real SDK against the fake's fault knobs.

Definitive (nothing happened, a replay says the same), transient (not executed: retry with the
same key) and ambiguous (Stripe may have acted: replay the stored request or look it up); the
client makes one attempt per call, within its few-seconds timeout (issue 14 item 1, §6c D/I).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from common.settings import Environment, ServiceSettings
from payments import stripe_requests as req
from payments.stripe_errors import (
    StripeAmbiguousError,
    StripeCallError,
    StripeDefinitiveError,
    StripeIdempotencyMismatchError,
    StripeMisconfiguredError,
    StripeTransientError,
)
from payments.stripe_provider import StripePaymentProvider
from payments.stripe_requests import StripeRequest
from payments.stripe_settings import StripeSettings
from prometheus_client import CollectorRegistry

from tests.fakes.stripe.control import StripeControl
from tests.support.stripe_provider import TIMEOUT, build, transfer


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def provider(
    fake_stripe: StripeControl, registry: CollectorRegistry
) -> AsyncIterator[StripePaymentProvider]:
    built = build(fake_stripe, registry=registry)
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture
async def destination(fake_stripe: StripeControl) -> str:
    return str((await fake_stripe.create_account())["id"])


def counted(
    registry: CollectorRegistry, outcome: str, operation: str = "transfers.create"
) -> float:
    value = registry.get_sample_value(
        "stripe_calls_total", {"operation": operation, "outcome": outcome}
    )
    return value or 0.0


# ---------------------------------------------------------------- ambiguous


async def test_commit_then_timeout_is_ambiguous_and_the_replay_finds_the_one_transfer(
    provider: StripePaymentProvider, fake_stripe: StripeControl, destination: str
) -> None:
    request = transfer(destination)
    await fake_stripe.commit_then_timeout("transfers.create", seconds=30)
    started = time.monotonic()
    with pytest.raises(StripeAmbiguousError) as caught:
        await provider.create_transfer(request)
    assert time.monotonic() - started < 10 * TIMEOUT  # seconds, not the SDK's 80
    assert caught.value.may_have_acted and caught.value.idempotency_key == request.idempotency_key
    [made] = await fake_stripe.transfers()
    replayed = await provider.create_transfer(StripeRequest.from_json(request.to_json()))
    assert replayed.id == made["id"] and replayed.answer.replayed
    assert len(await fake_stripe.transfers()) == 1


async def test_a_hung_stripe_times_out_once_without_a_hidden_retry(
    provider: StripePaymentProvider, fake_stripe: StripeControl, destination: str
) -> None:
    await fake_stripe.hang("transfers.create", seconds=30)
    with pytest.raises(StripeAmbiguousError):
        await provider.create_transfer(transfer(destination))
    assert await fake_stripe.calls("transfers.create") == 1
    assert await fake_stripe.transfers() == []


@pytest.mark.parametrize(
    ("status", "code", "cache"),
    [
        (500, None, False),
        (500, None, True),
        (503, None, False),
        (409, "idempotency_key_in_use", False),
    ],
)
async def test_server_errors_and_in_flight_keys_are_ambiguous_and_not_retried(
    provider: StripePaymentProvider,
    fake_stripe: StripeControl,
    registry: CollectorRegistry,
    destination: str,
    status: int,
    code: str | None,
    cache: bool,
) -> None:
    await fake_stripe.fail_next("transfers.create", status=status, code=code, cache=cache)
    request = transfer(destination)
    with pytest.raises(StripeAmbiguousError) as caught:
        await provider.create_transfer(request)
    assert caught.value.http_status == status
    assert await fake_stripe.calls("transfers.create") == 1
    assert counted(registry, "ambiguous") == 1
    if cache:  # Stripe stored the 500 under the key: the replay is no wiser
        with pytest.raises(StripeAmbiguousError):
            await provider.create_transfer(request)
        assert await fake_stripe.transfers() == []
    else:
        assert (await provider.create_transfer(request)).id.startswith("tr_")


async def test_a_dropped_connection_is_ambiguous(
    provider: StripePaymentProvider, fake_stripe: StripeControl, destination: str
) -> None:
    await fake_stripe.disconnect_next("transfers.create")
    with pytest.raises(StripeAmbiguousError) as caught:
        await provider.create_transfer(transfer(destination))
    assert caught.value.http_status is None


async def test_a_key_reused_with_other_params_is_a_mismatch(
    provider: StripePaymentProvider, fake_stripe: StripeControl, destination: str
) -> None:
    request = transfer(destination)
    await provider.create_transfer(request)
    changed = StripeRequest(
        request.operation, request.idempotency_key, {**request.params, "amount": 1501}
    )
    with pytest.raises(StripeIdempotencyMismatchError) as caught:
        await provider.create_transfer(changed)
    assert isinstance(caught.value, StripeAmbiguousError) and caught.value.http_status == 400
    assert await fake_stripe.idempotency_mismatches() == 1
    assert len(await fake_stripe.transfers()) == 1


# ---------------------------------------------------------------- transient, not executed


@pytest.mark.parametrize("code", ["rate_limit", "lock_timeout"])
async def test_429s_are_transient_not_ambiguous(
    provider: StripePaymentProvider,
    fake_stripe: StripeControl,
    registry: CollectorRegistry,
    destination: str,
    code: str,
) -> None:
    await fake_stripe.fail_next("transfers.create", status=429, code=code)
    request = transfer(destination)
    with pytest.raises(StripeTransientError) as caught:
        await provider.create_transfer(request)
    assert not isinstance(caught.value, StripeAmbiguousError)
    assert (caught.value.http_status, caught.value.code) == (429, code)
    assert counted(registry, "transient") == 1
    assert (await provider.create_transfer(request)).id.startswith("tr_")


async def test_a_refused_connection_is_transient(
    fake_stripe: StripeControl, destination: str
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    provider = build(fake_stripe, api_base=closed)
    try:
        with pytest.raises(StripeTransientError) as caught:
            await provider.create_transfer(transfer(destination))
    finally:
        await provider.close()
    assert not caught.value.may_have_acted


async def test_a_wrong_key_is_misconfigured(fake_stripe: StripeControl, destination: str) -> None:
    provider = build(fake_stripe, api_key="sk_test_not_the_fake_key")
    try:
        with pytest.raises(StripeMisconfiguredError) as caught:
            await provider.create_transfer(transfer(destination))
    finally:
        await provider.close()
    assert caught.value.http_status == 401 and not caught.value.may_have_acted
    assert "sk_test_not_the_fake_key" not in str(caught.value)


async def test_a_hung_read_is_transient_not_ambiguous(
    provider: StripePaymentProvider, fake_stripe: StripeControl
) -> None:
    await fake_stripe.hang("transfers.list", seconds=30)
    with pytest.raises(StripeTransientError) as caught:
        await provider.list_transfers("payout_x")
    assert not isinstance(caught.value, StripeAmbiguousError)


# ---------------------------------------------------------------- definitive


async def test_insufficient_platform_balance_is_definitive_and_stored(
    provider: StripePaymentProvider, fake_stripe: StripeControl, destination: str
) -> None:
    await fake_stripe.set_balance(available=100)
    request = transfer(destination, amount=1500)
    with pytest.raises(StripeDefinitiveError) as caught:
        await provider.create_transfer(request)
    assert (caught.value.code, caught.value.error_code) == ("balance_insufficient",) * 2
    assert not caught.value.may_have_acted
    await fake_stripe.set_balance(available=100_000)
    with pytest.raises(StripeDefinitiveError):  # the same key keeps Stripe's first answer
        await provider.create_transfer(request)
    assert await fake_stripe.transfers() == []


@pytest.mark.parametrize("ready", [False, None])
async def test_an_invalid_destination_is_definitive(
    provider: StripePaymentProvider, fake_stripe: StripeControl, ready: bool | None
) -> None:
    if ready is None:
        destination = "acct_unknown000000000001"
    else:
        destination = str((await fake_stripe.create_account(ready=ready))["id"])
    with pytest.raises(StripeDefinitiveError) as caught:
        await provider.create_transfer(transfer(destination))
    assert caught.value.http_status == 400
    assert await fake_stripe.transfers() == []


# ---------------------------------------------------------------- the client from settings


class _Settings(ServiceSettings, StripeSettings):
    pass


async def test_the_client_from_settings_talks_to_the_fake(
    fake_stripe: StripeControl, destination: str
) -> None:
    settings = _Settings(
        env=Environment.TEST,
        stripe_secret_key=fake_stripe.api_key,
        stripe_api_base=fake_stripe.url,
        stripe_timeout_seconds=TIMEOUT,
    )
    assert isinstance(settings, StripeSettings)
    provider = StripePaymentProvider.from_settings(settings)
    try:
        made = await provider.create_transfer(transfer(destination))
    finally:
        await provider.close()
    [sent] = await fake_stripe.requests("transfers.create")
    assert made.id.startswith("tr_") and sent["stripe_version"] == settings.stripe_api_version
    with pytest.raises(ValueError, match="STRIPE_SECRET_KEY"):
        StripePaymentProvider.from_settings(_Settings(env=Environment.TEST))


# ---------------------------------------------------------------- two workers, lost answers


async def until_calls(fake: StripeControl, endpoint: str, count: int) -> None:
    """Wait (bounded) until the fake has received ``count`` calls of ``endpoint``."""
    for _ in range(500):
        if await fake.calls(endpoint) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{endpoint} never reached {count} calls")


async def test_a_second_worker_on_the_same_payout_is_told_in_flight_never_pays_twice(
    fake_stripe: StripeControl, destination: str
) -> None:
    provider = StripePaymentProvider.create(
        api_key=fake_stripe.api_key,
        api_version="2026-10-28.endive",
        timeout_seconds=5.0,
        connect_timeout_seconds=1.0,
        api_base=fake_stripe.url,
    )
    try:
        request = transfer(destination)
        await fake_stripe.add_latency("transfers.create", seconds=1.0)  # the first is slow
        first = asyncio.create_task(provider.create_transfer(request))
        await until_calls(fake_stripe, "transfers.create", 1)
        with pytest.raises(StripeAmbiguousError) as caught:
            await provider.create_transfer(StripeRequest.from_json(request.to_json()))
        assert (caught.value.http_status, caught.value.code) == (409, "idempotency_key_in_use")
        made = await first
        later = await provider.create_transfer(StripeRequest.from_json(request.to_json()))
    finally:
        await provider.close()
    assert later.id == made.id and later.answer.replayed
    assert len(await fake_stripe.transfers()) == 1


async def test_a_charge_whose_answer_is_lost_is_charged_once(
    provider: StripePaymentProvider, fake_stripe: StripeControl
) -> None:
    customer = await provider.create_customer(req.customer_request(str(uuid.uuid4()), name="C"))
    method = await provider.attach_payment_method(
        req.attach_payment_method_request(customer.id, "pm_card_visa")
    )
    request = req.off_session_charge_request(
        str(uuid.uuid4()),
        amount_minor=2500,
        currency="usd",
        customer_id=customer.id,
        payment_method_id=method.id,
        merchant_id="m",
        session_id="s",
    )
    await fake_stripe.commit_then_timeout("payment_intents.create", seconds=30)
    with pytest.raises(StripeAmbiguousError):
        await provider.charge_off_session(request)
    retried = await provider.charge_off_session(StripeRequest.from_json(request.to_json()))
    assert retried.succeeded and retried.answer.replayed
    [intent] = await fake_stripe.payment_intents()
    assert intent["id"] == retried.id
    succeeded = [e async for e in provider.list_events(types=["payment_intent.succeeded"])]
    assert [e.object_id for e in succeeded] == [retried.id]


async def test_failure_logs_name_the_call_never_the_key_or_message(
    fake_stripe: StripeControl, destination: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk_test_wrong_key_that_must_not_leak_01"
    provider = build(fake_stripe, api_key=secret)
    request = transfer(destination)
    try:
        with caplog.at_level(logging.INFO, logger="payments"), pytest.raises(StripeCallError):
            await provider.create_transfer(request)
    finally:
        await provider.close()
    [record] = [r for r in caplog.records if r.name == "payments.stripe_metrics"]
    assert record.levelno == logging.ERROR
    assert (record.operation, record.idempotency_key, record.http_status) == (  # type: ignore[attr-defined]
        "transfers.create",
        request.idempotency_key,
        401,
    )
    dumped = repr(record.__dict__) + record.getMessage()
    assert secret not in dumped and "Invalid API Key" not in dumped
