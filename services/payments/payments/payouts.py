"""Pure rules of driver payouts: the fiat amount, the reconciler's backoff and verdicts.

A payout moves Nova from the wallet into the driver's ``payout_clearing`` (phase 1); the
transfer then settles it into ``payout_settled`` (``succeeded``) or a reversal returns it to
the wallet (``failed``, or ``reversed`` after a transfer reversal). ``unknown`` never moves
money: only a same-key replay (while Stripe still remembers the key) or a lookup by
``transfer_group`` decides it, and two transfers for one payout freeze it for ops.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum

from payments.ledger import AccountRef, OwnerType
from payments.stripe_objects import StripeTransfer

PAYOUT_CLEARING_PURPOSE = "payout_clearing"


def payout_clearing(driver_id: uuid.UUID) -> AccountRef:
    """Where a driver's requested payouts wait for Stripe (never negative). One per driver, not
    one for the platform: phase 1 then locks only the driver's own rows, so concurrent payouts
    of different drivers never queue on a shared account (the platform's clearing balance is
    the sum over drivers)."""
    return AccountRef(OwnerType.DRIVER, str(driver_id), PAYOUT_CLEARING_PURPOSE)


RECONCILE_BACKOFF_SECONDS = (60.0, 300.0, 1800.0, 7200.0, 21600.0, 43200.0)
"""1 m, 5 m, 30 m, 2 h, 6 h, 12 h, then every 12 h (lookups only once the window closed)."""


def fiat_amount(nova: int, minor_units_per_nova: Decimal) -> int:
    """Minor units for ``nova`` at the frozen rate, rounded down (never pay out a fraction)."""
    return int((Decimal(nova) * minor_units_per_nova).to_integral_value(rounding=ROUND_FLOOR))


def reconcile_backoff(attempts: int) -> float:
    return RECONCILE_BACKOFF_SECONDS[min(attempts, len(RECONCILE_BACKOFF_SECONDS) - 1)]


def may_replay(first_submitted_at: datetime | None, now: datetime, window: timedelta) -> bool:
    """Whether a POST with the payout's key may still be sent: Stripe may forget a key once it
    is 24 h old (a replay after that would execute again), so only within ``window`` (~20 h)."""
    return first_submitted_at is None or now - first_submitted_at < window


class LookupVerdict(StrEnum):
    FOUND = "found"
    NONE = "none"
    DUPLICATE = "duplicate"


def transfers_of(payout_id: uuid.UUID, listed: Sequence[StripeTransfer]) -> list[StripeTransfer]:
    """The listed transfers that carry this payout's id (the group alone could be reused)."""
    return [t for t in listed if t.metadata.get("payout_id") == str(payout_id)]


def lookup_verdict(matches: Sequence[StripeTransfer]) -> LookupVerdict:
    if not matches:
        return LookupVerdict.NONE
    return LookupVerdict.FOUND if len(matches) == 1 else LookupVerdict.DUPLICATE
