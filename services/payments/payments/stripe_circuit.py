"""The Stripe circuit: stop waiting on a Stripe that does not answer.

A call Stripe never answers (a read timeout, a connection that could not be made or was lost)
costs the caller the whole ``STRIPE_TIMEOUT_SECONDS``: a billing worker whose charges all hang
holds every one of its slots and connections for that long, and they all fail together. After
``STRIPE_CIRCUIT_FAILURES`` such calls in a row the circuit opens: for
``STRIPE_CIRCUIT_OPEN_SECONDS`` every call is refused at once with
:class:`payments.stripe_errors.StripeCircuitOpenError`, before anything is sent (transient, never
ambiguous: the retry tiers, the reconciler or the caller's 503 take it as they take any
transient failure). Then one call is let through as a probe while the others are still
refused; an answer closes the circuit, no answer opens it again.

A worker (the billing and payout consumers) first waits for its turn
(:meth:`StripeCircuit.wait_for_turn`): while the circuit is open its delivery is held, costing
nothing, and the queue keeps the rest (the prefetch), instead of every message failing at once
into its retry tier and back. One waiter becomes the probe when the open time is over; an answer
releases them all; past ``HOLD_PERIODS`` open times a waiter goes on, is refused and takes its
retry tier. A caller a person waits on (an admin's API call) does not wait: it is refused at
once (503).

Any answer counts as Stripe being there, a refusal included (a 402, a 500, a 429): only silence
opens the circuit. Each payments process keeps its own circuit; it resets when the process
starts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from enum import StrEnum

from payments.stripe_errors import StripeCallError, StripeCircuitOpenError

logger = logging.getLogger(__name__)


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    PROBING = "probing"  # one call let through; the others still refused


def is_unanswered(error: StripeCallError) -> bool:
    """Stripe said nothing: no HTTP status came back (a timeout, a connection failure)."""
    return error.http_status is None


FAILURES_TO_OPEN = 5
OPEN_SECONDS = 10.0
HOLD_PERIODS = 3
"""How many open times a worker's delivery waits at most (30 s by default, well inside the
consumers' ``HANDLER_TIMEOUT_SECONDS``)."""


class StripeCircuit:
    def __init__(
        self,
        *,
        failures_to_open: int = FAILURES_TO_OPEN,
        open_seconds: float = OPEN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures_to_open < 1 or open_seconds <= 0:
            raise ValueError("the circuit needs failures_to_open >= 1 and open_seconds > 0")
        self.failures_to_open = failures_to_open
        self.open_seconds = open_seconds
        self.on_change: Callable[[CircuitState], None] | None = None
        self._clock = clock
        self._state = CircuitState.CLOSED
        self._silent_in_a_row = 0
        self._open_until = 0.0
        self._probe_reserved = False  # a waiter took the probe's turn; its call passes admit()
        self._closed = asyncio.Event()
        self._closed.set()

    @property
    def state(self) -> CircuitState:
        return self._state

    def admit(self, operation: str) -> None:
        """Raises :class:`StripeCircuitOpenError` for a call that must not be sent now.

        A probe holds its turn for ``open_seconds`` (longer than a call's deadline): a probe
        that never reported back (cancelled with its caller) cannot keep the circuit shut."""
        if self._state is CircuitState.CLOSED:
            return
        if self._probe_reserved:
            self._probe_reserved = False
            return
        now = self._clock()
        if now < self._open_until:
            raise StripeCircuitOpenError(operation, retry_after=self._open_until - now)
        self._start_probe(now)

    async def wait_for_turn(self, hold_seconds: float | None = None) -> None:
        """A worker's wait before its call: returns at once while closed; while open, when the
        circuit closes, when this waiter may probe, or after ``hold_seconds`` (by default
        ``HOLD_PERIODS`` open times), whichever comes first."""
        deadline = self._clock() + (
            self.open_seconds * HOLD_PERIODS if hold_seconds is None else hold_seconds
        )
        while self._state is not CircuitState.CLOSED:
            now = self._clock()
            if now >= self._open_until:
                self._start_probe(now)
                self._probe_reserved = True
                return
            if now >= deadline:
                return  # its call is refused: the retry tier takes the delivery
            try:
                async with asyncio.timeout(min(self._open_until, deadline) - now):
                    await self._closed.wait()
            except TimeoutError:
                continue

    def answered(self) -> None:
        self._silent_in_a_row = 0
        if self._state is not CircuitState.CLOSED:
            self._probe_reserved = False
            self._move(CircuitState.CLOSED)

    def failed(self, error: StripeCallError) -> None:
        if not is_unanswered(error):
            self.answered()
            return
        self._silent_in_a_row += 1
        if self._state is CircuitState.PROBING or self._silent_in_a_row >= self.failures_to_open:
            self._open_until = self._clock() + self.open_seconds
            self._probe_reserved = False
            if self._state is not CircuitState.OPEN:
                self._move(CircuitState.OPEN)

    def _start_probe(self, now: float) -> None:
        self._open_until = now + self.open_seconds
        if self._state is not CircuitState.PROBING:
            self._move(CircuitState.PROBING)

    def _move(self, state: CircuitState) -> None:
        self._state = state
        if state is CircuitState.CLOSED:
            self._closed.set()
        else:
            self._closed.clear()
        level = logging.WARNING if state is CircuitState.OPEN else logging.INFO
        logger.log(
            level,
            "stripe circuit %s",
            state.value,
            extra={"silent_calls_in_a_row": self._silent_in_a_row},
        )
        if self.on_change is not None:
            self.on_change(state)
