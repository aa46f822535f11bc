"""The dispatch registry of Stripe events: one mapping, event type -> handler.

A handler is ``async def handler(deps: PaymentsDeps, event: Mapping[str, Any]) -> None`` where
``event`` is the verified event as Stripe sent it (``id``, ``type``, ``created``, ``livemode``,
``account``, ``data.object``...). Handlers are order-independent and idempotent (an event can be
processed again after a crash between its effects and its row being marked): they act on the
state the Stripe API returns now (re-fetched through ``deps.stripe``, retried briefly with
``payments.stripe_reads.read_briefly``), not on the event's snapshot, whenever order matters.
A POST they make passes the kill switches first (``payments.stripe_guard``). Raise
``IgnoredEventError`` for an event that is not theirs; any other exception marks the event
``failed`` and retries it on the queue's schedule, then the DLQ.

To handle a new type, add one line below; a Connect event type (one that carries the connected
account it happened on, ``event.account``) also goes into :data:`CONNECT_EVENT_TYPES`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from payments import billing_webhooks, payout_webhook_handlers
from payments.deps import PaymentsDeps

EventHandler = Callable[[PaymentsDeps, Mapping[str, Any]], Awaitable[None]]

EVENT_HANDLERS: dict[str, EventHandler] = {
    "payment_intent.succeeded": billing_webhooks.on_payment_intent_succeeded,
    "payment_intent.payment_failed": billing_webhooks.on_payment_intent_payment_failed,
    "account.updated": payout_webhook_handlers.on_account_updated,
    "transfer.created": payout_webhook_handlers.on_transfer_created,
    "transfer.reversed": payout_webhook_handlers.on_transfer_reversed,
}

CONNECT_EVENT_TYPES: frozenset[str] = frozenset({"account.updated"})
"""Types delivered for a driver's connected account (the event names it in ``account``)."""
