"""Stripe webhooks of driver payouts: ``account.updated``, ``transfer.created``,
``transfer.reversed``. The webhook inbox dispatches a verified event (a dict: ``id``, ``type``,
``created``, ``livemode``, ``account``, ``data.object``) to these functions.

A webhook is a hint, the API the truth: each handler re-fetches the object it names, so events
delivered twice, late or out of order converge on Stripe's current state, and the phase-3
functions it ends in are no-ops once the payout moved on (``transfer.reversed`` before
``transfer.created`` ends ``reversed`` with one compensating credit; the late
``transfer.created`` then changes nothing). A Stripe outage raises ``StripeTransientError``: the
inbox retries the event.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from payments import payout_settlement, payout_store
from payments.deps import PaymentsDeps

logger = logging.getLogger(__name__)


def _object(event: Mapping[str, Any]) -> Mapping[str, Any]:
    data = event.get("data") or {}
    found = data.get("object") if isinstance(data, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def _payout_id(obj: Mapping[str, Any]) -> uuid.UUID | None:
    metadata = obj.get("metadata") or {}
    value = metadata.get("payout_id") if isinstance(metadata, Mapping) else None
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


async def on_account_updated(deps: PaymentsDeps, event: Mapping[str, Any]) -> None:
    """Opens (or closes) payouts for the account's driver, as Stripe says now."""
    account_id = event.get("account") or _object(event).get("id")
    if not isinstance(account_id, str) or not account_id.startswith("acct_"):
        logger.info("account.updated without an account", extra={"event_id": event.get("id")})
        return
    account = await deps.stripe.retrieve_account(account_id)
    async with deps.uow() as tx:
        driver = await payout_store.update_account_readiness(
            tx,
            account.id,
            enabled=account.can_receive_payouts,
            disabled_reason=account.disabled_reason,
        )
    if driver is None:
        logger.info("account.updated for an account payments did not create")


async def _transfer_event(deps: PaymentsDeps, event: Mapping[str, Any], reason: str) -> None:
    obj = _object(event)
    transfer_id, payout_id = obj.get("id"), _payout_id(obj)
    if not isinstance(transfer_id, str) or payout_id is None:
        logger.info("transfer event without a payout", extra={"event_id": event.get("id")})
        return
    transfer = await deps.stripe.retrieve_transfer(transfer_id)
    if transfer.metadata.get("payout_id") != str(payout_id):
        logger.warning("transfer's payout id changed", extra={"event_id": event.get("id")})
        return
    if transfer.reversed:
        await payout_settlement.settle_reversed(
            deps, payout_id, transfer, reason=reason, actor="webhook"
        )
    else:
        await payout_settlement.settle_succeeded(
            deps, payout_id, transfer.id, reason=reason, actor="webhook"
        )


async def on_transfer_created(deps: PaymentsDeps, event: Mapping[str, Any]) -> None:
    """The transfer exists: a ``pending``/``unknown`` payout succeeds."""
    await _transfer_event(deps, event, "webhook:transfer.created")


async def on_transfer_reversed(deps: PaymentsDeps, event: Mapping[str, Any]) -> None:
    """A fully reversed transfer: the payout ends ``reversed`` with one credit back; a partial
    reversal changes nothing here (the transfer is still there)."""
    await _transfer_event(deps, event, "webhook:transfer.reversed")
