"""SDK objects -> :mod:`payments.stripe_objects` views (read through ``to_dict()``, the
stripe 15+ way: a ``StripeObject`` is no ``dict``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from payments.stripe_objects import (
    StripeAnswer,
    StripeConnectedAccount,
    StripeCustomer,
    StripeEvent,
    StripePaymentIntent,
    StripePaymentMethod,
    StripeTransfer,
    StripeTransferReversal,
)


def _opt_str(value: Any) -> str | None:
    if isinstance(value, Mapping):  # an expanded object
        value = value.get("id")
    return value if isinstance(value, str) else None


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


def answer_of(obj: Any) -> StripeAnswer:
    response = getattr(obj, "last_response", None)
    if response is None:
        return StripeAnswer()
    replayed = str(response.headers.get("Idempotent-Replayed", "")).lower() == "true"
    return StripeAnswer(request_id=response.request_id, replayed=replayed)


def customer_view(obj: Any) -> StripeCustomer:
    data = obj.to_dict()
    settings = data.get("invoice_settings") or {}
    return StripeCustomer(
        id=str(data["id"]),
        default_payment_method=_opt_str(settings.get("default_payment_method")),
        metadata=_str_map(data.get("metadata")),
        answer=answer_of(obj),
    )


def payment_method_view(obj: Any) -> StripePaymentMethod:
    data = obj.to_dict()
    card = data.get("card") or {}
    return StripePaymentMethod(
        id=str(data["id"]),
        customer=_opt_str(data.get("customer")),
        type=str(data.get("type") or "card"),
        card_brand=_opt_str(card.get("brand")),
        card_last4=_opt_str(card.get("last4")),
        answer=answer_of(obj),
    )


def payment_intent_view(obj: Any) -> StripePaymentIntent:
    data = obj.to_dict()
    error = data.get("last_payment_error") or {}
    return StripePaymentIntent(
        id=str(data["id"]),
        status=str(data["status"]),
        amount=int(data["amount"]),
        amount_received=int(data.get("amount_received") or 0),
        currency=str(data["currency"]),
        customer=_opt_str(data.get("customer")),
        latest_charge=_opt_str(data.get("latest_charge")),
        metadata=_str_map(data.get("metadata")),
        last_error_code=_opt_str(error.get("decline_code") or error.get("code")),
        answer=answer_of(obj),
    )


def account_view(obj: Any) -> StripeConnectedAccount:
    data = obj.to_dict()
    requirements = data.get("requirements") or {}
    capabilities = data.get("capabilities") or {}
    return StripeConnectedAccount(
        id=str(data["id"]),
        payouts_enabled=bool(data.get("payouts_enabled")),
        charges_enabled=bool(data.get("charges_enabled")),
        details_submitted=bool(data.get("details_submitted")),
        transfers_capability=_opt_str(capabilities.get("transfers")),
        currently_due=tuple(str(x) for x in requirements.get("currently_due") or ()),
        disabled_reason=_opt_str(requirements.get("disabled_reason")),
        metadata=_str_map(data.get("metadata")),
        answer=answer_of(obj),
    )


def transfer_view(obj: Any) -> StripeTransfer:
    data = obj.to_dict()
    return StripeTransfer(
        id=str(data["id"]),
        amount=int(data["amount"]),
        amount_reversed=int(data.get("amount_reversed") or 0),
        currency=str(data["currency"]),
        destination=str(_opt_str(data.get("destination"))),
        transfer_group=_opt_str(data.get("transfer_group")),
        metadata=_str_map(data.get("metadata")),
        created=int(data["created"]),
        reversed=bool(data.get("reversed")),
        answer=answer_of(obj),
    )


def event_view(obj: Any) -> StripeEvent:
    data = obj.to_dict(for_json=True)  # JSON-ready for the inbox (Decimal -> str)
    inner = (data.get("data") or {}).get("object") or {}
    return StripeEvent(
        id=str(data["id"]),
        type=str(data["type"]),
        created=int(data["created"]),
        livemode=bool(data.get("livemode")),
        account=_opt_str(data.get("account")),
        api_version=_opt_str(data.get("api_version")),
        object_id=_opt_str(inner.get("id")),
        payload=data,
    )


def reversal_view(obj: Any) -> StripeTransferReversal:
    data = obj.to_dict()
    return StripeTransferReversal(
        id=str(data["id"]),
        transfer=str(_opt_str(data.get("transfer"))),
        amount=int(data["amount"]),
        currency=str(data["currency"]),
        metadata=_str_map(data.get("metadata")),
        answer=answer_of(obj),
    )
