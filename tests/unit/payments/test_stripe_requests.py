"""Stored Stripe requests: deterministic keys, canonical parameters, a faithful round trip."""

from __future__ import annotations

import json

import pytest
from payments import stripe_requests as req
from payments.stripe_requests import StripeRequest, StripeRequestError


def test_transfer_request_key_group_and_metadata() -> None:
    request = req.transfer_request(
        "p-1", amount_minor=1500, currency="USD", destination="acct_1", driver_id="d-1"
    )
    assert request.operation == "transfers.create"
    assert request.idempotency_key == "payout:p-1"
    assert request.params == {
        "amount": 1500,
        "currency": "usd",
        "destination": "acct_1",
        "metadata": {"driver_id": "d-1", "payout_id": "p-1"},
        "transfer_group": "payout_p-1",
    }


def test_charge_request_is_confirmed_off_session_under_the_billing_key() -> None:
    request = req.off_session_charge_request(
        "be-1",
        amount_minor=2500,
        currency="usd",
        customer_id="cus_1",
        payment_method_id="pm_1",
        merchant_id="m-1",
        session_id="s-1",
    )
    assert request.idempotency_key == "billing:be-1"
    assert (request.params["confirm"], request.params["off_session"]) == (True, True)
    assert request.params["metadata"] == {
        "billing_event_id": "be-1",
        "merchant_id": "m-1",
        "session_id": "s-1",
    }


@pytest.mark.parametrize(
    ("request_", "key", "target"),
    [
        (req.customer_request("m-1", name="Cafe"), "customer:m-1", None),
        (req.attach_payment_method_request("cus_1", "pm_1"), "pm_attach:cus_1:pm_1", "pm_1"),
        (
            req.default_payment_method_request("cus_1", "pm_1", change_id="c-7"),
            "customer_default:c-7",
            "cus_1",
        ),
        (req.connected_account_request("d-1", country="US"), "connect_account:d-1", None),
        (
            req.account_link_request(
                "acct_1", link_id="l-1", refresh_url="https://a/r", return_url="https://a/b"
            ),
            "account_link:l-1",
            None,
        ),
        (
            req.transfer_reversal_request("p-1", "tr_1", reason="duplicate"),
            "payout_reversal:p-1:tr_1",
            "tr_1",
        ),
    ],
)
def test_every_post_has_a_deterministic_key(
    request_: StripeRequest, key: str, target: str | None
) -> None:
    assert (request_.idempotency_key, request_.target) == (key, target)
    assert StripeRequest.from_json(request_.to_json()) == request_


def test_the_stored_form_survives_a_jsonb_round_trip_unchanged() -> None:
    request = req.transfer_request(
        "p-1", amount_minor=1500, currency="usd", destination="acct_1", driver_id="d-1"
    )
    as_jsonb = json.loads(request.to_json())
    as_jsonb["params"] = dict(reversed(list(as_jsonb["params"].items())))
    rebuilt = StripeRequest.from_json(as_jsonb)
    assert rebuilt == request and rebuilt.to_json() == request.to_json()
    assert list(rebuilt.params) == sorted(rebuilt.params)  # what the SDK encodes, in order
    assert list(rebuilt.params["metadata"]) == ["driver_id", "payout_id"]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "params",
    [{"amount": 1.5}, {"amount": None}, {"metadata": {"when": object()}}, {"x": [1, 2.0]}],
)
def test_only_stripe_parameter_values(params: dict[str, object]) -> None:
    with pytest.raises(StripeRequestError):
        StripeRequest("transfers.create", "payout:1", params)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["", "x" * 256, "payout:é", "payout:\n1"])
def test_keys_are_short_printable_ascii(key: str) -> None:
    with pytest.raises(StripeRequestError):
        StripeRequest("transfers.create", key, {})


def test_operations_and_targets_are_checked() -> None:
    with pytest.raises(StripeRequestError, match="unknown"):
        StripeRequest("charges.create", "k", {})
    with pytest.raises(StripeRequestError, match="target"):
        StripeRequest("customers.update", "k", {})
    with pytest.raises(StripeRequestError, match="target"):
        StripeRequest("transfers.create", "k", {}, target="tr_1")


@pytest.mark.parametrize("amount", [0, -1, True])
def test_amounts_are_positive_minor_units(amount: int) -> None:
    with pytest.raises(StripeRequestError):
        req.transfer_request(
            "p", amount_minor=amount, currency="usd", destination="acct_1", driver_id="d"
        )
    with pytest.raises(StripeRequestError):
        req.transfer_request(
            "p", amount_minor=1, currency="dollars", destination="a", driver_id="d"
        )
