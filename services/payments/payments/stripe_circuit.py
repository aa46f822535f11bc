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

Any answer counts as Stripe being there, a refusal included (a 402, a 500, a 429): only silence
opens the circuit. Each payments process keeps its own circuit; it resets when the process
starts.
"""

from __future__ import annotations

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

    @property
    def state(self) -> CircuitState:
        return self._state

    def admit(self, operation: str) -> None:
        """Raises :class:`StripeCircuitOpenError` for a call that must not be sent now.

        A probe holds its turn for ``open_seconds`` (longer than a call's deadline): a probe
        that never reported back (cancelled with its caller) cannot keep the circuit shut."""
        if self._state is CircuitState.CLOSED:
            return
        now = self._clock()
        if now < self._open_until:
            raise StripeCircuitOpenError(operation, retry_after=self._open_until - now)
        self._open_until = now + self.open_seconds
        if self._state is not CircuitState.PROBING:
            self._move(CircuitState.PROBING)

    def answered(self) -> None:
        self._silent_in_a_row = 0
        if self._state is not CircuitState.CLOSED:
            self._move(CircuitState.CLOSED)

    def failed(self, error: StripeCallError) -> None:
        if not is_unanswered(error):
            self.answered()
            return
        self._silent_in_a_row += 1
        if self._state is CircuitState.PROBING or self._silent_in_a_row >= self.failures_to_open:
            self._open_until = self._clock() + self.open_seconds
            if self._state is not CircuitState.OPEN:
                self._move(CircuitState.OPEN)

    def _move(self, state: CircuitState) -> None:
        self._state = state
        level = logging.WARNING if state is CircuitState.OPEN else logging.INFO
        logger.log(
            level,
            "stripe circuit %s",
            state.value,
            extra={"silent_calls_in_a_row": self._silent_in_a_row},
        )
        if self.on_change is not None:
            self.on_change(state)
