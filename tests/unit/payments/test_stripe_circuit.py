"""The Stripe circuit's states on a clock the test moves: silence opens it, any answer closes
it, and while it is open one probe at a time is let through."""

from __future__ import annotations

import asyncio

import pytest
from payments.stripe_circuit import CircuitState, StripeCircuit
from payments.stripe_errors import (
    StripeAmbiguousError,
    StripeCallError,
    StripeCircuitOpenError,
    StripeTransientError,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def silent() -> StripeCallError:
    return StripeAmbiguousError("transfers.create", "no answer (timeout or connection lost)")


def refused_to_connect() -> StripeCallError:
    return StripeTransientError("transfers.create", "could not connect")


def server_error() -> StripeCallError:
    return StripeAmbiguousError("transfers.create", "server error", http_status=500)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def circuit(clock: Clock) -> StripeCircuit:
    return StripeCircuit(failures_to_open=3, open_seconds=10.0, clock=clock)


def test_calls_pass_until_stripe_is_silent_that_many_times_in_a_row(
    circuit: StripeCircuit,
) -> None:
    for failure in (silent(), refused_to_connect()):
        circuit.admit("transfers.create")
        circuit.failed(failure)
    circuit.admit("transfers.create")
    circuit.failed(silent())
    assert circuit.state is CircuitState.OPEN
    with pytest.raises(StripeCircuitOpenError) as refused:
        circuit.admit("payment_intents.create")
    assert refused.value.retry_after == 10.0
    assert not refused.value.may_have_acted
    assert refused.value.operation == "payment_intents.create"


@pytest.mark.parametrize("answer", ["ok", "server_error"])
def test_any_answer_between_silences_starts_the_count_again(
    circuit: StripeCircuit, answer: str
) -> None:
    circuit.failed(silent())
    circuit.failed(silent())
    if answer == "ok":
        circuit.answered()
    else:
        circuit.failed(server_error())  # Stripe is there, even when it says 500
    circuit.failed(silent())
    circuit.failed(silent())
    assert circuit.state is CircuitState.CLOSED
    circuit.admit("transfers.create")


def open_circuit(circuit: StripeCircuit) -> None:
    for _ in range(circuit.failures_to_open):
        circuit.failed(silent())
    assert circuit.state is CircuitState.OPEN


def test_one_probe_at_a_time_after_the_open_time_and_an_answer_closes(
    circuit: StripeCircuit, clock: Clock
) -> None:
    open_circuit(circuit)
    clock.now += 4.0
    with pytest.raises(StripeCircuitOpenError) as refused:
        circuit.admit("transfers.create")
    assert refused.value.retry_after == 6.0
    clock.now += 6.0
    circuit.admit("transfers.create")  # the probe
    assert circuit.state is CircuitState.PROBING
    with pytest.raises(StripeCircuitOpenError):
        circuit.admit("transfers.create")  # while the probe is out
    circuit.answered()
    assert circuit.state is CircuitState.CLOSED
    for _ in range(5):
        circuit.admit("transfers.create")


def test_a_silent_probe_opens_the_circuit_again_for_the_whole_time(
    circuit: StripeCircuit, clock: Clock
) -> None:
    open_circuit(circuit)
    clock.now += 10.0
    circuit.admit("transfers.create")
    clock.now += 2.0
    circuit.failed(silent())
    assert circuit.state is CircuitState.OPEN
    with pytest.raises(StripeCircuitOpenError) as refused:
        circuit.admit("transfers.create")
    assert refused.value.retry_after == 10.0


def test_a_probe_that_never_reports_back_does_not_keep_the_circuit_shut(
    circuit: StripeCircuit, clock: Clock
) -> None:
    open_circuit(circuit)
    clock.now += 10.0
    circuit.admit("transfers.create")  # its caller is cancelled: no outcome ever comes
    clock.now += 9.0
    with pytest.raises(StripeCircuitOpenError):
        circuit.admit("transfers.create")
    clock.now += 1.0
    circuit.admit("transfers.create")  # the next probe
    circuit.answered()
    assert circuit.state is CircuitState.CLOSED


def test_each_change_of_state_is_reported_once(circuit: StripeCircuit, clock: Clock) -> None:
    seen: list[CircuitState] = []
    circuit.on_change = seen.append
    open_circuit(circuit)
    circuit.failed(silent())  # a late silent call while open: still open, no new report
    clock.now += 10.0
    circuit.admit("transfers.create")
    circuit.answered()
    circuit.answered()
    assert seen == [CircuitState.OPEN, CircuitState.PROBING, CircuitState.CLOSED]


@pytest.mark.parametrize(("failures", "seconds"), [(0, 10.0), (3, 0.0)])
def test_a_circuit_that_could_never_work_is_refused(failures: int, seconds: float) -> None:
    with pytest.raises(ValueError, match="failures_to_open"):
        StripeCircuit(failures_to_open=failures, open_seconds=seconds)


# ---------------------------------------------------------------- a worker's wait (real time)
OPEN = 0.2


async def test_a_worker_passes_at_once_while_the_circuit_is_closed() -> None:
    circuit = StripeCircuit(failures_to_open=1, open_seconds=OPEN)
    async with asyncio.timeout(0.05):
        await circuit.wait_for_turn()
    circuit.admit("payment_intents.create")


async def test_waiting_workers_send_one_probe_and_all_go_once_it_is_answered() -> None:
    circuit = StripeCircuit(failures_to_open=1, open_seconds=OPEN)
    circuit.failed(silent())
    order: list[str] = []

    async def worker(name: str) -> None:
        await circuit.wait_for_turn(hold_seconds=10 * OPEN)
        circuit.admit("payment_intents.create")  # raises for a worker that was not let through
        order.append(name)

    waiting = [asyncio.create_task(worker(f"w{i}")) for i in range(5)]
    await asyncio.sleep(OPEN / 2)
    assert order == []  # held, not refused
    await asyncio.sleep(OPEN)
    assert len(order) == 1 and circuit.state is CircuitState.PROBING  # the probe alone
    circuit.answered()
    async with asyncio.timeout(1):
        await asyncio.gather(*waiting)
    assert sorted(order) == ["w0", "w1", "w2", "w3", "w4"]


async def test_after_a_silent_probe_the_others_keep_waiting_for_the_next_one() -> None:
    circuit = StripeCircuit(failures_to_open=1, open_seconds=OPEN)
    circuit.failed(silent())
    probes: list[float] = []
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def worker() -> None:
        await circuit.wait_for_turn(hold_seconds=10 * OPEN)
        circuit.admit("payment_intents.create")
        probes.append(loop.time() - started)
        if len(probes) == 1:
            circuit.failed(silent())  # the first probe: Stripe still silent
        else:
            circuit.answered()

    async with asyncio.timeout(2):
        await asyncio.gather(*(worker() for _ in range(3)))
    assert len(probes) == 3
    assert OPEN * 0.9 <= probes[0] < OPEN * 1.5
    assert OPEN * 1.9 <= probes[1] < OPEN * 2.5  # one open time after the silent probe
    assert probes[2] - probes[1] < OPEN / 2  # released by the answer


async def test_a_worker_held_past_its_hold_time_is_refused() -> None:
    circuit = StripeCircuit(failures_to_open=1, open_seconds=10.0)
    circuit.failed(silent())
    async with asyncio.timeout(1):
        await circuit.wait_for_turn(hold_seconds=OPEN)
    with pytest.raises(StripeCircuitOpenError):
        circuit.admit("payment_intents.create")
