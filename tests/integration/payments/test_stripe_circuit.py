"""The Stripe circuit in the adapter, through the real SDK against the fake Stripe: silence
opens it, refused calls never leave, and a probe's answer closes it (payments.stripe_circuit)."""

from __future__ import annotations

import asyncio
import time

import pytest
from payments.stripe_circuit import StripeCircuit
from payments.stripe_errors import StripeAmbiguousError, StripeCircuitOpenError
from prometheus_client import CollectorRegistry

from tests.fakes.stripe.control import StripeControl
from tests.support.stripe_provider import TIMEOUT, build, transfer


async def test_a_stripe_that_stops_answering_is_not_waited_on_until_a_probe_gets_an_answer(
    fake_stripe: StripeControl,
) -> None:
    """Two silent calls open the circuit: the next calls fail at once, unsent and not
    ambiguous; once the open time is over one probe goes out, and its answer closes it."""
    destination = str((await fake_stripe.create_account())["id"])
    registry = CollectorRegistry()
    circuit = StripeCircuit(failures_to_open=2, open_seconds=2 * TIMEOUT)
    provider = build(fake_stripe, registry=registry, circuit=circuit)
    sample = registry.get_sample_value
    try:
        await fake_stripe.hang("transfers.create", seconds=30)
        for _ in range(2):
            with pytest.raises(StripeAmbiguousError):
                await provider.create_transfer(transfer(destination))
        assert sample("stripe_circuit_open") == 1.0
        request = transfer(destination)
        started = time.monotonic()
        for _ in range(3):
            with pytest.raises(StripeCircuitOpenError) as refused:
                await provider.create_transfer(request)
        assert time.monotonic() - started < TIMEOUT / 2
        assert not refused.value.may_have_acted
        assert 0 < refused.value.retry_after <= 2 * TIMEOUT
        assert await fake_stripe.calls("transfers.create") == 2  # the refused ones never left
        labels = {"operation": "transfers.create", "outcome": "circuit_open"}
        assert sample("stripe_calls_total", labels) == 3.0

        await fake_stripe.clear_faults()
        await asyncio.sleep(refused.value.retry_after)
        made = await provider.create_transfer(request)  # the probe
        assert sample("stripe_circuit_open") == 0.0
        again = await provider.create_transfer(transfer(destination))
    finally:
        await provider.close()
    assert [t["id"] for t in await fake_stripe.transfers()] == [made.id, again.id]
