"""Pure rules of the Stripe webhook inbox: which stored events are not ours to process.

An event is stored whatever it is (the dedup and the audit trail), then *ignored* — stored as
``ignored`` with the reason, never retried — when:

- ``unknown_type``: no handler is registered for its type;
- ``livemode_mismatch``: its ``livemode`` is not the mode of our key (``STRIPE_SECRET_KEY``:
  a test event reaching production, or a live one reaching staging);
- ``account_mismatch``: its ``account`` does not fit its type. A platform event (ours: charges,
  transfers) carries no ``account``; a Connect event (a driver's connected account, e.g.
  ``account.updated``) carries the account it happened on. A connected account's own
  PaymentIntent, say, is not one of our charges.

A handler may also decide an event is not its business (:class:`IgnoredEventError`).
"""

from __future__ import annotations

from collections.abc import Container


class IgnoredEventError(Exception):
    """Raised by a handler: the event is not ours to act on (stored as ``ignored``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def ignore_reason(
    event_type: str,
    *,
    livemode: bool,
    account: str | None,
    handled: Container[str],
    connect_types: Container[str],
    expected_livemode: bool,
) -> str | None:
    """Why the event is ignored before any handler runs (None: dispatch it)."""
    if event_type not in handled:
        return "unknown_type"
    if livemode != expected_livemode:
        return "livemode_mismatch"
    if (account is not None) != (event_type in connect_types):
        return "account_mismatch"
    return None
