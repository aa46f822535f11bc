"""The POSTs payments sends to Stripe, built once, stored, and re-sent byte for byte.

A :class:`StripeRequest` is everything a POST needs: the operation, OUR deterministic
idempotency key, the object it acts on (``target``), the connected account (``stripe_account``)
and the parameters. Handlers build one with the functions below when they decide to call
Stripe, store :meth:`StripeRequest.to_json` in the same transaction (``payouts.stripe_request``,
the billing charge row...), and every later attempt (worker retry, DLQ replay, reconciler)
rebuilds it with :meth:`StripeRequest.from_json` and sends exactly that. The key therefore never
changes and neither do the parameters: a changed Nova→fiat rate, a renamed merchant or a new
default payment method cannot alter a replay (Stripe would answer 400 ``idempotency_error``).

Parameters are canonical: nested mappings are sent with their keys sorted, so the encoded body
is the same whatever order a JSON column returns them in. Values are ``str``, ``int``, ``bool``
or nested lists/mappings of those (money is integer minor units; no floats, no ``None``).

Keys (at most 255 characters, Stripe's limit):

==============================  ===========================================================
``customer:<merchant_id>``      the merchant's one Stripe customer
``pm_attach:<customer>:<pm>``   attach a payment method (the same pair is the same result)
``customer_default:<change>``   set the default payment method; ``change`` is the id of the
                                admin's change (A→B→A within 24 h are three changes)
``billing:<billing_event_id>``  the off-session PaymentIntent of one billing event
``connect_account:<driver_id>`` the driver's one Express account
``account_link:<link_id>``      one onboarding link (a fresh id per request: links expire)
``payout:<payout_id>``          the payout's transfer (``transfer_group`` ``payout_<id>``)
``payout_reversal:<payout_id>:<transfer_id>``  reversing a transfer (a duplicate, a clawback)
==============================  ===========================================================
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KEY_MAX = 255
Param = str | int | bool | list["Param"] | dict[str, "Param"]

CUSTOMERS_CREATE = "customers.create"
CUSTOMERS_UPDATE = "customers.update"
PAYMENT_METHODS_ATTACH = "payment_methods.attach"
PAYMENT_INTENTS_CREATE = "payment_intents.create"
ACCOUNTS_CREATE = "accounts.create"
ACCOUNT_LINKS_CREATE = "account_links.create"
TRANSFERS_CREATE = "transfers.create"
TRANSFER_REVERSALS_CREATE = "transfers.reversals.create"
OPERATIONS_WITH_TARGET = frozenset(
    {CUSTOMERS_UPDATE, PAYMENT_METHODS_ATTACH, TRANSFER_REVERSALS_CREATE}
)
OPERATIONS = OPERATIONS_WITH_TARGET | {
    CUSTOMERS_CREATE,
    PAYMENT_INTENTS_CREATE,
    ACCOUNTS_CREATE,
    ACCOUNT_LINKS_CREATE,
    TRANSFERS_CREATE,
}


class StripeRequestError(ValueError):
    """A request that must never be sent (a programming error, not a Stripe answer)."""


def _canonical(value: Any, path: str) -> Param:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Mapping):
        return {str(k): _canonical(value[k], f"{path}.{k}") for k in sorted(value)}
    if isinstance(value, list | tuple):
        return [_canonical(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise StripeRequestError(f"{path}: {type(value).__name__} is not a Stripe parameter value")


def _check_key(key: str) -> str:
    if not key or len(key) > KEY_MAX or not key.isascii() or not key.isprintable():
        raise StripeRequestError("an idempotency key is 1-255 printable ASCII characters")
    return key


@dataclass(frozen=True)
class StripeRequest:
    operation: str
    idempotency_key: str
    params: dict[str, Param] = field(default_factory=dict)
    target: str | None = None
    stripe_account: str | None = None

    def __post_init__(self) -> None:
        if self.operation not in OPERATIONS:
            raise StripeRequestError(f"unknown Stripe operation {self.operation!r}")
        if (self.target is not None) != (self.operation in OPERATIONS_WITH_TARGET):
            raise StripeRequestError(
                f"{self.operation}: target is required exactly for calls on an object"
            )
        _check_key(self.idempotency_key)
        if not isinstance(self.params, Mapping):
            raise StripeRequestError("params is a mapping of parameter name to value")
        object.__setattr__(self, "params", _canonical(self.params, "params"))

    def to_json(self) -> str:
        """The stored form: canonical JSON (sorted keys, no spaces)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "idempotency_key": self.idempotency_key,
            "target": self.target,
            "stripe_account": self.stripe_account,
            "params": self.params,
        }

    @classmethod
    def from_json(cls, stored: str | Mapping[str, Any]) -> StripeRequest:
        """Rebuild a stored request (a JSON string, or a JSONB column's dict)."""
        data = json.loads(stored) if isinstance(stored, str) else stored
        return cls(
            operation=str(data["operation"]),
            idempotency_key=str(data["idempotency_key"]),
            params=dict(data.get("params") or {}),
            target=data.get("target"),
            stripe_account=data.get("stripe_account"),
        )


def _currency(currency: str) -> str:
    if len(currency) != 3 or not currency.isalpha():
        raise StripeRequestError("currency is a 3-letter ISO code")
    return currency.lower()


def _amount(amount_minor: int) -> int:
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise StripeRequestError("amounts are positive integers in minor units")
    return amount_minor


# ---------------------------------------------------------------- merchant billing


def customer_request(merchant_id: str, *, name: str) -> StripeRequest:
    return StripeRequest(
        CUSTOMERS_CREATE,
        f"customer:{merchant_id}",
        {"name": name, "metadata": {"merchant_id": merchant_id}},
    )


def attach_payment_method_request(customer_id: str, payment_method_id: str) -> StripeRequest:
    return StripeRequest(
        PAYMENT_METHODS_ATTACH,
        f"pm_attach:{customer_id}:{payment_method_id}",
        {"customer": customer_id},
        target=payment_method_id,
    )


def default_payment_method_request(
    customer_id: str, payment_method_id: str, *, change_id: str
) -> StripeRequest:
    return StripeRequest(
        CUSTOMERS_UPDATE,
        f"customer_default:{change_id}",
        {"invoice_settings": {"default_payment_method": payment_method_id}},
        target=customer_id,
    )


def off_session_charge_request(
    billing_event_id: str,
    *,
    amount_minor: int,
    currency: str,
    customer_id: str,
    payment_method_id: str,
    merchant_id: str,
    session_id: str,
) -> StripeRequest:
    """One PaymentIntent created and confirmed off-session for one billing event (a card)."""
    return StripeRequest(
        PAYMENT_INTENTS_CREATE,
        f"billing:{billing_event_id}",
        {
            "amount": _amount(amount_minor),
            "currency": _currency(currency),
            "customer": customer_id,
            "payment_method": payment_method_id,
            "payment_method_types": ["card"],
            "confirm": True,
            "off_session": True,
            "metadata": {
                "billing_event_id": billing_event_id,
                "merchant_id": merchant_id,
                "session_id": session_id,
            },
        },
    )


# ---------------------------------------------------------------- driver payouts


def connected_account_request(driver_id: str, *, country: str) -> StripeRequest:
    """The driver's Express account, asking for the ``transfers`` capability only."""
    return StripeRequest(
        ACCOUNTS_CREATE,
        f"connect_account:{driver_id}",
        {
            "type": "express",
            "country": country,
            "business_type": "individual",
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"driver_id": driver_id},
        },
    )


def account_link_request(
    account_id: str, *, link_id: str, refresh_url: str, return_url: str
) -> StripeRequest:
    return StripeRequest(
        ACCOUNT_LINKS_CREATE,
        f"account_link:{link_id}",
        {
            "account": account_id,
            "type": "account_onboarding",
            "refresh_url": refresh_url,
            "return_url": return_url,
        },
    )


def transfer_group(payout_id: str) -> str:
    return f"payout_{payout_id}"


def transfer_request(
    payout_id: str,
    *,
    amount_minor: int,
    currency: str,
    destination: str,
    driver_id: str,
) -> StripeRequest:
    """The payout's transfer: found again by ``transfer_group`` and ``metadata.payout_id``."""
    return StripeRequest(
        TRANSFERS_CREATE,
        f"payout:{payout_id}",
        {
            "amount": _amount(amount_minor),
            "currency": _currency(currency),
            "destination": destination,
            "transfer_group": transfer_group(payout_id),
            "metadata": {"payout_id": payout_id, "driver_id": driver_id},
        },
    )


def transfer_reversal_request(
    payout_id: str, transfer_id: str, *, reason: str, amount_minor: int | None = None
) -> StripeRequest:
    """Reverse (all of, or ``amount_minor`` of) a transfer made for ``payout_id``."""
    params: dict[str, Param] = {"metadata": {"payout_id": payout_id, "reason": reason}}
    if amount_minor is not None:
        params["amount"] = _amount(amount_minor)
    return StripeRequest(
        TRANSFER_REVERSALS_CREATE,
        f"payout_reversal:{payout_id}:{transfer_id}",
        params,
        target=transfer_id,
    )
