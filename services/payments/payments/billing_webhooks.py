"""``payment_intent.succeeded`` / ``payment_intent.payment_failed``: settle unconfirmed charges.

The billing worker settles a charge from Stripe's answer. When it could not — the answer was lost
(a timeout after Stripe charged), or the intent was still ``processing`` — these events settle
it. The event is only a hint: the handler re-fetches the PaymentIntent (the API is the truth, so
events in any order, or a ``payment_failed`` overtaken by a later success, end in Stripe's
current state) and settles through the worker's own path, which locks the charge and publishes
``merchant.billed.v1`` / ``merchant.billing_failed.v1`` once. A charge already settled is a
no-op. A PaymentIntent that is not a merchant charge of ours (no ``billing_event_id`` we know,
or one of a connected account) is ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from payments import billing_handlers
from payments.deps import PaymentsDeps
from payments.stripe_event_rules import IgnoredEventError
from payments.stripe_reads import read_briefly


def _billing_event_id(intent: Mapping[str, Any]) -> uuid.UUID:
    metadata = intent.get("metadata")
    value = metadata.get("billing_event_id") if isinstance(metadata, Mapping) else None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise IgnoredEventError("not a merchant billing PaymentIntent") from None


async def settle_billing_charge(deps: PaymentsDeps, event: Mapping[str, Any]) -> None:
    if event.get("account") is not None:
        raise IgnoredEventError("a connected account's PaymentIntent")
    intent_json = event["data"]["object"]
    intent_id = intent_json.get("id")
    if not isinstance(intent_id, str) or not intent_id.startswith("pi_"):
        raise IgnoredEventError("the event carries no PaymentIntent")
    billing_event_id = _billing_event_id(intent_json)
    charge = await billing_handlers.get_charge(deps, billing_event_id)
    if charge is None:
        raise IgnoredEventError("no billing charge for this PaymentIntent")
    if charge.settled:
        return
    if charge.stripe_payment_intent_id not in (None, intent_id):
        raise IgnoredEventError("the charge was made by another PaymentIntent")
    intent = await read_briefly(lambda: deps.stripe.retrieve_payment_intent(intent_id))
    if intent.metadata.get("billing_event_id") != str(billing_event_id):
        raise IgnoredEventError("the PaymentIntent belongs to another charge")
    await billing_handlers.settle_from_intent(deps, charge, intent)


async def on_payment_intent_succeeded(deps: PaymentsDeps, event: Mapping[str, Any]) -> None:
    await settle_billing_charge(deps, event)


async def on_payment_intent_payment_failed(deps: PaymentsDeps, event: Mapping[str, Any]) -> None:
    await settle_billing_charge(deps, event)
