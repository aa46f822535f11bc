"""PaymentIntents: the off-session charge path (create + confirm in one call), retrieve.

``confirm=true`` with a ``payment_method`` charges at once: ``succeeded`` (the amount lands in
the pending balance), or a decline answered 402 ``card_error`` with ``decline_code`` while the
intent is kept as ``requires_payment_method`` with ``last_payment_error``. A ``customer`` must
exist and the payment method must be attached to it (or be one of Stripe's test tokens, see
:mod:`tests.fakes.stripe.customers`). Declines come from a ``card_decline`` fault (``code`` =
decline_code) or from the test tokens (``pm_card_chargeDeclined``,
``pm_card_chargeDeclinedInsufficientFunds``, ``pm_card_chargeDeclinedExpiredCard``,
``pm_card_authenticationRequired``) and the payment methods attached from them.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.core.faults import FaultBook
from tests.fakes.core.provider import Call
from tests.fakes.core.runtime import FakeClock
from tests.fakes.stripe import params as p
from tests.fakes.stripe.balance import Balance
from tests.fakes.stripe.customers import CustomersFake
from tests.fakes.stripe.errors import StripeApiError, error_body, invalid, missing, no_such
from tests.fakes.stripe.events import EventsFake

MINIMUM = {"usd": 50, "eur": 50, "gbp": 30}
# decline_code -> (code, message)
DECLINES = {
    "generic_decline": ("card_declined", "Your card was declined."),
    "insufficient_funds": ("card_declined", "Your card has insufficient funds."),
    "lost_card": ("card_declined", "Your card was declined."),
    "stolen_card": ("card_declined", "Your card was declined."),
    "expired_card": ("expired_card", "Your card has expired."),
    "authentication_required": (
        "authentication_required",
        "Your card was declined. This transaction requires authentication.",
    ),
}


class PaymentIntentsFake:
    def __init__(
        self,
        *,
        balance: Balance,
        events: EventsFake,
        clock: FakeClock,
        faults: FaultBook,
        customers: CustomersFake,
    ) -> None:
        self.customers = customers
        self.balance = balance
        self.events = events
        self.clock = clock
        self.faults = faults
        self.intents: dict[str, dict[str, Any]] = {}

    def reset(self) -> None:
        self.intents.clear()

    def _emit(self, call: Call, type: str, intent: dict[str, Any]) -> None:
        self.events.emit(
            type,
            intent,
            request_id=call.request_id,
            idempotency_key=call.request.headers.get("Idempotency-Key"),
        )

    def create(self, call: Call, params: dict[str, Any]) -> dict[str, Any]:
        amount = p.amount(params)
        currency = p.currency(params)
        if amount < MINIMUM.get(currency, 1):
            raise invalid(
                f"Amount must be at least {MINIMUM[currency]} {currency}",
                param="amount",
                code="amount_too_small",
            )
        confirm = p.boolean(params, "confirm")
        off_session = params.get("off_session") not in (None, "", "false")
        method = params.get("payment_method")
        customer = params.get("customer")
        if off_session and not confirm:
            raise invalid(
                "You can only use `off_session` when `confirm=true`.", param="off_session"
            )
        if confirm and not method:
            raise missing("payment_method")
        decline = None
        if method:
            decline = self.customers.chargeable(
                str(method), None if customer is None else str(customer)
            )
        elif customer is not None:
            self.customers.require(str(customer))
        intent_id = p.new_id("pi")
        intent: dict[str, Any] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "capture_method": params.get("capture_method", "automatic"),
            "client_secret": f"{intent_id}_secret_{p.new_id('s')[2:]}",
            "confirmation_method": "automatic",
            "created": int(self.clock.now()),
            "currency": currency,
            "customer": customer,
            "description": params.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": p.metadata(params),
            "payment_method": method,
            "payment_method_types": params.get("payment_method_types") or ["card"],
            "statement_descriptor": params.get("statement_descriptor"),
            "status": "requires_confirmation" if method else "requires_payment_method",
        }
        self.intents[intent_id] = intent
        self._emit(call, "payment_intent.created", intent)
        if confirm:
            self._confirm(call, intent, params, decline)
        return intent

    def _decline_code(self, params: dict[str, Any], method_decline: str | None) -> str | None:
        flat = {k: v for k, v in params.items() if isinstance(v, str)}
        rule = self.faults.take_outcome("card_decline", "payment_intents.create", flat)
        if rule is not None:
            return str(rule.code or "generic_decline")
        return method_decline

    def _confirm(
        self,
        call: Call,
        intent: dict[str, Any],
        params: dict[str, Any],
        method_decline: str | None,
    ) -> None:
        decline = self._decline_code(params, method_decline)
        charge_id = p.new_id("ch")
        intent["latest_charge"] = charge_id
        if decline is None:
            intent["status"] = "succeeded"
            intent["amount_received"] = intent["amount"]
            cur = intent["currency"]
            self.balance.pending[cur] = self.balance.pending.get(cur, 0) + intent["amount"]
            self._emit(call, "payment_intent.succeeded", intent)
            return
        code, message = DECLINES.get(decline, ("card_declined", "Your card was declined."))
        error = error_body(
            type="card_error",
            message=message,
            code=code,
            decline_code=decline,
            param="",
            charge=charge_id,
            payment_method={"id": intent["payment_method"], "object": "payment_method"},
        )["error"]
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = error
        self._emit(call, "payment_intent.payment_failed", intent)
        raise StripeApiError(
            402,
            message,
            type="card_error",
            code=code,
            decline_code=decline,
            param="",
            charge=charge_id,
            payment_intent=intent,
            payment_method=error["payment_method"],
        )

    def retrieve(self, intent_id: str) -> dict[str, Any]:
        intent = self.intents.get(intent_id)
        if intent is None:
            raise no_such("payment_intent", intent_id)
        return intent
