"""Which stored Stripe events are ignored before any handler runs (payments.stripe_event_rules)."""

from __future__ import annotations

import pytest
from payments.stripe_event_registry import CONNECT_EVENT_TYPES, EVENT_HANDLERS
from payments.stripe_event_rules import ignore_reason

HANDLED = {"payment_intent.succeeded", "account.updated"}
CONNECT = {"account.updated"}


@pytest.mark.parametrize(
    ("event_type", "livemode", "account", "expected"),
    [
        ("payment_intent.succeeded", False, None, None),
        ("account.updated", False, "acct_1Driver", None),
        ("invoice.paid", False, None, "unknown_type"),
        ("payment_intent.succeeded", True, None, "livemode_mismatch"),
        ("payment_intent.succeeded", False, "acct_1Other", "account_mismatch"),
        ("account.updated", False, None, "account_mismatch"),
    ],
)
def test_ignore_reason(
    event_type: str, livemode: bool, account: str | None, expected: str | None
) -> None:
    reason = ignore_reason(
        event_type,
        livemode=livemode,
        account=account,
        handled=HANDLED,
        connect_types=CONNECT,
        expected_livemode=False,
    )
    assert reason == expected


def test_a_live_key_expects_live_events() -> None:
    assert (
        ignore_reason(
            "payment_intent.succeeded",
            livemode=False,
            account=None,
            handled=HANDLED,
            connect_types=CONNECT,
            expected_livemode=True,
        )
        == "livemode_mismatch"
    )


def test_the_registry_dispatches_the_billing_events_as_platform_events() -> None:
    for event_type in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        assert event_type in EVENT_HANDLERS and event_type not in CONNECT_EVENT_TYPES
