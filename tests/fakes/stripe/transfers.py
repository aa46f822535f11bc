"""Transfers: create (drawing on the available balance), retrieve, list; reversals.

- A transfer's ``destination`` must be a connected account of this fake whose ``transfers``
  capability is active (:meth:`tests.fakes.stripe.accounts.AccountsFake.check_destination`).
- ``POST /v1/transfers/{id}/reversals`` amount (default: what is left), metadata, description
  [transfers.reversals.create] returns the money to the available balance, updates the transfer
  (``amount_reversed``, ``reversed``, ``reversals``) and emits ``transfer.reversed``; reversing
  more than is left is a 400 (stored under the key, as any executed request).
  ``GET /v1/transfers/{id}/reversals`` [transfers.reversals.list],
  ``GET /v1/transfers/{id}/reversals/{reversal}`` [transfers.reversals.retrieve].
"""

from __future__ import annotations

from typing import Any

from tests.fakes.core.provider import Call
from tests.fakes.core.runtime import FakeClock
from tests.fakes.stripe import params as p
from tests.fakes.stripe.accounts import AccountsFake
from tests.fakes.stripe.balance import Balance
from tests.fakes.stripe.errors import StripeApiError, invalid, missing, no_such
from tests.fakes.stripe.events import EventsFake
from tests.fakes.stripe.listing import page

INSUFFICIENT = (
    "You have insufficient available funds in your Stripe account. Try adding funds directly to"
    " your available balance by creating Charges using the 4000000000000077 test card. See:"
    " https://stripe.com/docs/testing#available-balance"
)


class TransfersFake:
    def __init__(
        self, *, balance: Balance, events: EventsFake, clock: FakeClock, accounts: AccountsFake
    ) -> None:
        self.accounts = accounts
        self.balance = balance
        self.events = events
        self.clock = clock
        self.transfers: dict[str, dict[str, Any]] = {}
        self.reversals: dict[str, dict[str, Any]] = {}

    def reset(self) -> None:
        self.transfers.clear()
        self.reversals.clear()

    def create(self, call: Call, params: dict[str, Any]) -> dict[str, Any]:
        amount = p.amount(params)
        currency = p.currency(params)
        destination = params.get("destination")
        if not destination:
            raise missing("destination")
        if not isinstance(destination, str) or not destination.startswith("acct_"):
            raise invalid(f"No such destination: '{destination}'", param="destination")
        self.accounts.check_destination(destination)
        metadata = p.metadata(params)
        available = self.balance.available.get(currency, 0)
        if amount > available:
            raise StripeApiError(400, INSUFFICIENT, code="balance_insufficient")
        self.balance.available[currency] = available - amount
        transfer_id = p.new_id("tr")
        transfer = {
            "id": transfer_id,
            "object": "transfer",
            "amount": amount,
            "amount_reversed": 0,
            "balance_transaction": p.new_id("txn"),
            "created": int(self.clock.now()),
            "currency": currency,
            "description": params.get("description"),
            "destination": destination,
            "destination_payment": p.new_id("py"),
            "livemode": False,
            "metadata": metadata,
            "reversals": {
                "object": "list",
                "data": [],
                "has_more": False,
                "total_count": 0,
                "url": f"/v1/transfers/{transfer_id}/reversals",
            },
            "reversed": False,
            "source_transaction": params.get("source_transaction"),
            "source_type": params.get("source_type", "card"),
            "transfer_group": params.get("transfer_group"),
        }
        self.transfers[transfer_id] = transfer
        self.events.emit(
            "transfer.created",
            transfer,
            request_id=call.request_id,
            idempotency_key=call.request.headers.get("Idempotency-Key"),
        )
        return transfer

    def retrieve(self, transfer_id: str) -> dict[str, Any]:
        transfer = self.transfers.get(transfer_id)
        if transfer is None:
            raise no_such("transfer", transfer_id)
        return transfer

    def list_transfers(self, params: dict[str, Any]) -> dict[str, Any]:
        bounds = p.created_filter(params)
        rows = [
            t
            for t in reversed(self.transfers.values())
            if (not params.get("transfer_group") or t["transfer_group"] == params["transfer_group"])
            and (not params.get("destination") or t["destination"] == params["destination"])
            and p.created_matches(t["created"], bounds)
        ]
        return page(rows, params, "/v1/transfers")

    # ---- reversals
    def create_reversal(self, call: Call, params: dict[str, Any]) -> dict[str, Any]:
        transfer = self.retrieve(call.request.match_info["id"])
        left = transfer["amount"] - transfer["amount_reversed"]
        if left <= 0:
            raise StripeApiError(
                400, f"Transfer {transfer['id']} has already been reversed.", param="amount"
            )
        amount = p.amount(params) if params.get("amount") not in (None, "") else left
        if amount > left:
            raise StripeApiError(
                400,
                f"Amount ({amount}) is greater than the unreversed amount of the transfer"
                f" ({left}).",
                param="amount",
            )
        reversal = {
            "id": p.new_id("trr"),
            "object": "transfer_reversal",
            "amount": amount,
            "balance_transaction": p.new_id("txn"),
            "created": int(self.clock.now()),
            "currency": transfer["currency"],
            "destination_payment_refund": p.new_id("pyr"),
            "metadata": p.metadata(params),
            "source_refund": None,
            "transfer": transfer["id"],
        }
        self.reversals[reversal["id"]] = reversal
        currency = transfer["currency"]
        self.balance.available[currency] = self.balance.available.get(currency, 0) + amount
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
        listed = transfer["reversals"]
        listed["data"] = [reversal, *listed["data"]]
        listed["total_count"] = len(listed["data"])
        self.events.emit(
            "transfer.reversed",
            transfer,
            request_id=call.request_id,
            idempotency_key=call.request.headers.get("Idempotency-Key"),
        )
        return reversal

    def list_reversals(self, call: Call, params: dict[str, Any]) -> dict[str, Any]:
        transfer = self.retrieve(call.request.match_info["id"])
        rows = list(transfer["reversals"]["data"])
        return page(rows, params, f"/v1/transfers/{transfer['id']}/reversals")

    def retrieve_reversal(self, call: Call, _: dict[str, Any]) -> dict[str, Any]:
        transfer = self.retrieve(call.request.match_info["id"])
        reversal = self.reversals.get(call.request.match_info["reversal"])
        if reversal is None or reversal["transfer"] != transfer["id"]:
            raise no_such("transfer_reversal", call.request.match_info["reversal"])
        return reversal
