"""What the Stripe adapter returns (our typed views of Stripe objects) and the port it fills.

Handlers and ``deps.py`` use these and :class:`StripeApi`; only ``bootstrap.py`` imports the
adapter (:mod:`payments.stripe_provider`). Every view keeps the fields payments decides on, the
Stripe request id of the answer and whether Stripe replayed a stored answer for our key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from payments.stripe_requests import StripeRequest


@dataclass(frozen=True)
class StripeAnswer:
    """Where an object came from: Stripe's request id, and whether it was a stored replay."""

    request_id: str | None = None
    replayed: bool = False


@dataclass(frozen=True)
class StripeCustomer:
    id: str
    default_payment_method: str | None
    metadata: Mapping[str, str]
    answer: StripeAnswer = field(default_factory=StripeAnswer)


@dataclass(frozen=True)
class StripePaymentMethod:
    id: str
    customer: str | None
    type: str
    card_brand: str | None
    card_last4: str | None
    answer: StripeAnswer = field(default_factory=StripeAnswer)


@dataclass(frozen=True)
class StripePaymentIntent:
    """``status``: ``succeeded``, ``processing`` (settles by webhook), ``requires_*``..."""

    id: str
    status: str
    amount: int
    amount_received: int
    currency: str
    customer: str | None
    latest_charge: str | None
    metadata: Mapping[str, str]
    last_error_code: str | None = None
    answer: StripeAnswer = field(default_factory=StripeAnswer)

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


@dataclass(frozen=True)
class StripeConnectedAccount:
    id: str
    payouts_enabled: bool
    charges_enabled: bool
    details_submitted: bool
    transfers_capability: str | None
    currently_due: Sequence[str]
    disabled_reason: str | None
    metadata: Mapping[str, str]
    answer: StripeAnswer = field(default_factory=StripeAnswer)

    @property
    def can_receive_payouts(self) -> bool:
        """Transfers can land and the money can leave: a payout may start."""
        return self.payouts_enabled and self.transfers_capability == "active"


@dataclass(frozen=True)
class StripeAccountLink:
    url: str
    created: int
    expires_at: int
    answer: StripeAnswer = field(default_factory=StripeAnswer)


@dataclass(frozen=True)
class StripeTransfer:
    """A created transfer is done (it has no status); later it can only be reversed."""

    id: str
    amount: int
    amount_reversed: int
    currency: str
    destination: str
    transfer_group: str | None
    metadata: Mapping[str, str]
    created: int
    reversed: bool
    answer: StripeAnswer = field(default_factory=StripeAnswer)


@dataclass(frozen=True)
class StripeTransferReversal:
    id: str
    transfer: str
    amount: int
    currency: str
    metadata: Mapping[str, str]
    answer: StripeAnswer = field(default_factory=StripeAnswer)


@dataclass(frozen=True)
class StripeEvent:
    """An event as Stripe lists or delivers it; ``payload`` is the whole event JSON."""

    id: str
    type: str
    created: int
    livemode: bool
    account: str | None
    api_version: str | None
    object_id: str | None
    payload: Mapping[str, Any]


class StripeApi(Protocol):
    """The calls payments makes to Stripe (see :mod:`payments.stripe_provider` for the flows).

    POSTs take a stored :class:`StripeRequest` and raise :mod:`payments.stripe_errors` errors;
    reads take ids and raise the same tree (a read is never ambiguous).
    """

    async def wait_for_turn(self) -> None:
        """A worker's wait before its POST while Stripe is not answering (the circuit of
        :mod:`payments.stripe_circuit`); returns at once when it is."""
        ...

    async def create_customer(self, request: StripeRequest) -> StripeCustomer: ...

    async def attach_payment_method(self, request: StripeRequest) -> StripePaymentMethod: ...

    async def set_default_payment_method(self, request: StripeRequest) -> StripeCustomer: ...

    async def charge_off_session(self, request: StripeRequest) -> StripePaymentIntent: ...

    async def create_connected_account(self, request: StripeRequest) -> StripeConnectedAccount: ...

    async def create_account_link(self, request: StripeRequest) -> StripeAccountLink: ...

    async def create_transfer(self, request: StripeRequest) -> StripeTransfer: ...

    async def reverse_transfer(self, request: StripeRequest) -> StripeTransferReversal: ...

    async def retrieve_customer(self, customer_id: str) -> StripeCustomer: ...

    async def retrieve_payment_intent(self, payment_intent_id: str) -> StripePaymentIntent: ...

    async def retrieve_account(self, account_id: str) -> StripeConnectedAccount: ...

    async def retrieve_transfer(self, transfer_id: str) -> StripeTransfer: ...

    async def list_transfers(self, transfer_group: str) -> list[StripeTransfer]: ...

    async def retrieve_event(self, event_id: str, *, account: str | None = None) -> StripeEvent: ...

    def list_events(
        self,
        *,
        types: Sequence[str] = (),
        created_gte: int | None = None,
        delivery_success: bool | None = None,
        account: str | None = None,
    ) -> AsyncIterator[StripeEvent]: ...

    async def close(self) -> None: ...
