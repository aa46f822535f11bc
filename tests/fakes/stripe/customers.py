"""Customers and their payment methods: create/retrieve/update, attach/detach, list.

- ``POST /v1/customers`` email, name, description, metadata,
  ``invoice_settings[default_payment_method]`` [customers.create];
  ``GET /v1/customers/{id}`` [customers.retrieve]; ``POST /v1/customers/{id}`` [customers.update]
  (metadata merges; a default payment method must be attached to this customer).
- ``GET /v1/payment_methods/{id}`` [payment_methods.retrieve];
  ``POST /v1/payment_methods/{id}/attach`` customer [payment_methods.attach];
  ``POST /v1/payment_methods/{id}/detach`` [payment_methods.detach];
  ``GET /v1/customers/{id}/payment_methods`` [customers.payment_methods.list].

Stripe's test tokens (``pm_card_visa``, ``pm_card_chargeDeclined``, ...) work as in test mode:
attaching one creates a new ``pm_...`` that behaves like the token (a declining token's copy
declines too); a token can also be charged directly without a customer. A payment method
attached to one customer cannot be attached to another or charged for another; a detached one
cannot be used again.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.core.provider import Call
from tests.fakes.core.runtime import FakeClock
from tests.fakes.stripe import params as p
from tests.fakes.stripe.errors import StripeApiError, invalid, no_such, no_such_param
from tests.fakes.stripe.events import EventsFake
from tests.fakes.stripe.listing import page

# test token -> (brand, last4, decline_code or None)
TEST_TOKENS: dict[str, tuple[str, str, str | None]] = {
    "pm_card_visa": ("visa", "4242", None),
    "pm_card_mastercard": ("mastercard", "4444", None),
    "pm_card_amex": ("amex", "8431", None),
    "pm_card_chargeDeclined": ("visa", "0002", "generic_decline"),
    "pm_card_chargeDeclinedInsufficientFunds": ("visa", "9995", "insufficient_funds"),
    "pm_card_chargeDeclinedExpiredCard": ("visa", "0069", "expired_card"),
    "pm_card_authenticationRequired": ("visa", "3184", "authentication_required"),
}
ALREADY_ATTACHED = "The payment method you provided has already been attached to a customer."
NOT_REUSABLE = (
    "This PaymentMethod was previously used without being attached to a Customer or was detached"
    " from a Customer, and may not be used again."
)


class CustomersFake:
    def __init__(self, *, events: EventsFake, clock: FakeClock) -> None:
        self.events = events
        self.clock = clock
        self.customers: dict[str, dict[str, Any]] = {}
        self.payment_methods: dict[str, dict[str, Any]] = {}
        self.declines: dict[str, str | None] = {}
        self.detached: set[str] = set()

    def reset(self) -> None:
        self.customers.clear()
        self.payment_methods.clear()
        self.declines.clear()
        self.detached.clear()

    def _emit(self, call: Call, type: str, obj: dict[str, Any], **extra: Any) -> None:
        self.events.emit(
            type,
            obj,
            request_id=call.request_id,
            idempotency_key=call.request.headers.get("Idempotency-Key"),
            **extra,
        )

    # ---- customers
    def create_customer(self, call: Call, params: dict[str, Any]) -> dict[str, Any]:
        customer_id = p.new_id("cus")
        customer: dict[str, Any] = {
            "id": customer_id,
            "object": "customer",
            "created": int(self.clock.now()),
            "description": params.get("description"),
            "email": params.get("email"),
            "name": params.get("name"),
            "invoice_settings": {"default_payment_method": None},
            "livemode": False,
            "metadata": p.metadata(params),
        }
        self.customers[customer_id] = customer
        default = (params.get("invoice_settings") or {}).get("default_payment_method")
        if default:
            self._set_default(customer, str(default))
        self._emit(call, "customer.created", customer)
        return customer

    def retrieve_customer(self, customer_id: str) -> dict[str, Any]:
        customer = self.customers.get(customer_id)
        if customer is None:
            raise no_such("customer", customer_id)
        return customer

    def update_customer(self, call: Call, params: dict[str, Any]) -> dict[str, Any]:
        customer = self.retrieve_customer(call.request.match_info["id"])
        settings = params.get("invoice_settings")
        if isinstance(settings, dict) and "default_payment_method" in settings:
            self._set_default(customer, str(settings["default_payment_method"] or ""))
        for name in ("email", "name", "description"):
            if name in params:
                customer[name] = params[name] or None
        if "metadata" in params:
            merged = {**customer["metadata"], **p.metadata(params)}
            customer["metadata"] = {k: v for k, v in merged.items() if v != ""}
        self._emit(call, "customer.updated", customer)
        return customer

    def _set_default(self, customer: dict[str, Any], method_id: str) -> None:
        if not method_id:
            customer["invoice_settings"]["default_payment_method"] = None
            return
        method = self.payment_methods.get(method_id)
        if method is None or method["customer"] != customer["id"]:
            raise StripeApiError(
                400,
                f"The customer does not have a payment method with the ID {method_id}. The"
                " payment method must be attached to the customer.",
                code="resource_missing",
                param="invoice_settings[default_payment_method]",
                stored=False,
            )
        customer["invoice_settings"]["default_payment_method"] = method_id

    # ---- payment methods
    def _token_method(self, token: str) -> dict[str, Any]:
        brand, last4, _ = TEST_TOKENS[token]
        return {
            "id": token,
            "object": "payment_method",
            "type": "card",
            "card": {"brand": brand, "last4": last4, "exp_month": 12, "exp_year": 2034},
            "customer": None,
            "created": int(self.clock.now()),
            "livemode": False,
            "metadata": {},
        }

    def retrieve_method(self, method_id: str) -> dict[str, Any]:
        if method_id in TEST_TOKENS:
            return self._token_method(method_id)
        method = self.payment_methods.get(method_id)
        if method is None:
            raise no_such("PaymentMethod", method_id)
        return method

    def attach(self, call: Call, params: dict[str, Any]) -> dict[str, Any]:
        method_id = call.request.match_info["id"]
        raw_customer = params.get("customer")
        if not raw_customer:
            raise invalid("Missing required param: customer.", param="customer")
        customer = self.customers.get(str(raw_customer))
        if customer is None:
            raise no_such_param("customer", str(raw_customer), param="customer")
        if method_id in TEST_TOKENS:
            method = {**self._token_method(method_id), "id": p.new_id("pm")}
            self.payment_methods[method["id"]] = method
            self.declines[method["id"]] = TEST_TOKENS[method_id][2]
        else:
            method = self.retrieve_method(method_id)
            if method_id in self.detached:
                raise StripeApiError(400, NOT_REUSABLE, param="payment_method")
            if method["customer"] == customer["id"]:
                return method
            if method["customer"] is not None:
                raise StripeApiError(400, ALREADY_ATTACHED, param="payment_method")
        method["customer"] = customer["id"]
        self._emit(call, "payment_method.attached", method)
        return method

    def detach(self, call: Call, _: dict[str, Any]) -> dict[str, Any]:
        method_id = call.request.match_info["id"]
        method = self.retrieve_method(method_id)
        if method["customer"] is None:
            raise StripeApiError(
                400, "The payment method you provided is not attached to a customer."
            )
        owner = self.customers.get(method["customer"])
        if owner and owner["invoice_settings"]["default_payment_method"] == method_id:
            owner["invoice_settings"]["default_payment_method"] = None
        method["customer"] = None
        self.detached.add(method_id)
        self._emit(call, "payment_method.detached", method)
        return method

    def list_methods(self, call: Call, params: dict[str, Any]) -> dict[str, Any]:
        customer = self.retrieve_customer(call.request.match_info["id"])
        rows = [
            m for m in reversed(self.payment_methods.values()) if m["customer"] == customer["id"]
        ]
        return page(rows, params, f"/v1/customers/{customer['id']}/payment_methods")

    # ---- what a PaymentIntent needs
    def require(self, customer_id: str) -> None:
        if customer_id not in self.customers:
            raise no_such_param("customer", customer_id, param="customer")

    def chargeable(self, method_id: str, customer_id: str | None) -> str | None:
        """Check that ``method_id`` may be charged for ``customer_id``; its decline code."""
        if customer_id is not None:
            self.require(customer_id)
        if method_id in TEST_TOKENS:
            return TEST_TOKENS[method_id][2]
        method = self.payment_methods.get(method_id)
        if method is None:
            raise no_such_param("PaymentMethod", method_id, param="payment_method")
        if method_id in self.detached:
            raise StripeApiError(400, NOT_REUSABLE, param="payment_method", stored=False)
        if method["customer"] != customer_id:
            raise StripeApiError(
                400,
                f"The provided PaymentMethod {method_id} does not belong to the Customer"
                f" {customer_id}. Please attach it to the Customer first.",
                param="payment_method",
                stored=False,
            )
        return self.declines.get(method_id)
