"""Phases 2 and 3 of a payout: the ``payments.payouts.execute`` worker.

The worker reloads the payout and its stored request; a settled payout is a no-op. Right before
the call it re-checks the kill switches: a switch flipped since phase 1 raises
``money_movement_disabled`` (a transient failure), so the payout stays ``pending`` (held, its
Nova visible in clearing) and resumes on the retry schedule, from a guarded dead-letter replay
or from the reconciler once the switch reopens; it is never failed for it. Then
``transfers.create`` with the stored params and key ``payout:<id>``, no transaction open:

- a transfer → ``succeeded`` (:func:`payout_settlement.settle_succeeded`);
- a definitive refusal → ``failed`` + one reversal credit;
- an ambiguous failure (timeout after sending, 5xx, 409 in use, idempotency mismatch) →
  ``unknown``, never reversed, and the command is retried (30s, 2m, 10m, then the DLQ) with the
  same key and params, so Stripe answers the first attempt's result;
- a failure before Stripe acted (refused connection, 429) → still ``pending``, retried.

Past the replay window (``STRIPE_REPLAY_WINDOW_HOURS`` after the first POST) the worker sends
nothing: only the reconciler's lookups may settle it.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from messaging.failures import PermanentError, TransientError

from payments import payout_settlement, payout_store
from payments.deps import PaymentsDeps
from payments.kill_switches import Operation
from payments.payout_store import Payout
from payments.payouts import may_replay
from payments.stripe_errors import (
    StripeAmbiguousError,
    StripeDefinitiveError,
    StripeTransientError,
)
from payments.stripe_requests import StripeRequest

logger = logging.getLogger(__name__)


class Attempt(StrEnum):
    SETTLED = "settled"
    """Stripe's answer was definitive (succeeded or failed); stored."""
    AMBIGUOUS = "ambiguous"
    """Stripe may have acted; the payout is ``unknown``."""
    NOT_SENT = "not_sent"
    """Nothing was executed (refused connection, rate limit, credentials)."""


def replay_window(deps: PaymentsDeps) -> timedelta:
    return timedelta(hours=deps.settings.stripe_replay_window_hours)


async def attempt_transfer(deps: PaymentsDeps, payout: Payout, *, actor: str) -> Attempt:
    """One POST of the stored request (the caller checked the kill switches and the window)."""
    request = StripeRequest.from_json(payout.stripe_request)
    async with deps.uow() as tx:
        await payout_store.mark_submitted(tx, payout.id)
    try:
        created = await deps.stripe.create_transfer(request)
    except StripeAmbiguousError as unanswered:
        await payout_settlement.mark_unknown(
            deps,
            payout.id,
            error_code=unanswered.error_code,
            error_message=unanswered.reason,
            reason=f"stripe_ambiguous:{unanswered.error_code}",
            actor=actor,
        )
        return Attempt.AMBIGUOUS
    except StripeDefinitiveError as refused:
        await payout_settlement.settle_failed(
            deps,
            payout.id,
            error_code=refused.error_code,
            error_message=refused.reason,
            reason=f"stripe_4xx:{refused.error_code}",
            actor=actor,
        )
        return Attempt.SETTLED
    except StripeTransientError as not_executed:
        async with deps.uow() as tx:
            await payout_store.update(
                tx,
                payout.id,
                last_error_code=not_executed.error_code,
                last_error_message=not_executed.reason,
            )
        return Attempt.NOT_SENT
    if created.metadata.get("payout_id") != str(payout.id):  # never: the key is the payout's
        logger.error("transfer answer names another payout", extra={"payout_id": str(payout.id)})
        return Attempt.AMBIGUOUS
    await payout_settlement.settle_succeeded(
        deps, payout.id, created.id, reason="stripe_ok", actor=actor
    )
    return Attempt.SETTLED


async def execute_payout(deps: PaymentsDeps, payout_id: uuid.UUID) -> None:
    async with deps.uow() as tx:
        payout = await payout_store.get(tx, payout_id)
    if payout is None:
        raise PermanentError(f"no payout {payout_id}")
    if payout.status not in payout_store.RECONCILABLE:
        return
    if not may_replay(payout.first_submitted_at, datetime.now(UTC), replay_window(deps)):
        logger.info(
            "payout past its replay window: lookups only", extra={"payout_id": str(payout_id)}
        )
        return
    await deps.hooks.before_stripe_call("transfers.create")
    await deps.stripe.wait_for_turn()
    await deps.kill_switches.require(Operation.PAYOUT)
    attempt = await attempt_transfer(deps, payout, actor="worker")
    if attempt is not Attempt.SETTLED:
        raise TransientError(f"payout {payout_id}: Stripe's answer is {attempt.value}")
