"""What handlers may touch, typed by Protocols; ``bootstrap.build_deps`` builds the real ones.

Seams the Stripe half (payouts, billing) uses as they are: ``uow`` (one transaction),
``kill_switches.require(Operation.PAYOUT)`` (re-checked right before a Stripe call),
``audit.append`` (payments.audit), the idempotent-request runner (payments.idempotent) and the
clearing accounts of ``payments.ledger``.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg
from common.direct_sql import DirectStatement, DirectTransaction
from common.uow import UnitOfWorkFactory
from messaging.inbox import Inbox
from messaging.outbox import Outbox
from sqlalchemy.ext.asyncio import AsyncEngine

from payments.kill_switches import Operation, Switch
from payments.payout_metrics import PayoutMetrics
from payments.settings import PaymentsSettings
from payments.stripe_event_metrics import StripeEventMetrics
from payments.stripe_objects import StripeApi
from payments.stripe_webhooks import VerifiedWebhook


class PaymentsUnitOfWork(UnitOfWorkFactory, Protocol):
    async def direct(
        self, statement: DirectStatement, params: Mapping[str, Any]
    ) -> asyncpg.Record | None:
        """One autocommit statement on the direct pool (hot paths)."""

    def direct_transaction(self) -> AbstractAsyncContextManager[DirectTransaction]:
        """A hot path's whole transaction on the direct pool (committed on exit)."""


class KillSwitchCheck(Protocol):
    async def states(self) -> Mapping[Switch, bool] | None:
        """The switches now (cached briefly); None when they cannot be read."""

    async def require(self, operation: Operation) -> None:
        """Raises ``MoneyMovementDisabledError`` unless ``operation`` is allowed now."""

    def invalidate(self) -> None:
        """Forget the cached state (after a change made by this replica)."""


class WebhookVerifier(Protocol):
    def verify(self, raw: bytes, header: str | None) -> VerifiedWebhook:
        """The event of a signed delivery; raises ``WebhookRejectedError`` otherwise."""


class Hooks:
    """Points where a test can pause a use case (barriers); no-ops in production."""

    async def after_claim(self, scope: str) -> None:
        """An idempotency key was claimed; its work has not started."""

    async def before_post(self, kind: str) -> None:
        """Inside the work's transaction, right before the journal is posted."""

    async def before_stripe_call(self, operation: str) -> None:
        """A worker is about to re-check the kill switches and call Stripe."""

    async def before_settle(self, kind: str) -> None:
        """Stripe answered; the outcome is about to be stored (its own transaction)."""

    async def before_event_store(self, event_id: str) -> None:
        """A verified Stripe event is about to be stored (its own transaction)."""

    async def before_event_claim(self, event_id: str) -> None:
        """A worker is about to claim a stored Stripe event."""

    async def after_lease(self, leased: int) -> None:
        """A reconciler pass (or the ops endpoint) tried to lease; ``leased`` payouts are its."""


@dataclass
class PaymentsDeps:
    settings: PaymentsSettings
    uow: PaymentsUnitOfWork
    engine: AsyncEngine
    outbox: Outbox
    inbox: Inbox
    kill_switches: KillSwitchCheck
    stripe: StripeApi
    webhooks: WebhookVerifier
    hooks: Hooks = field(default_factory=Hooks)
    event_metrics: StripeEventMetrics = field(default_factory=StripeEventMetrics)
    payout_metrics: PayoutMetrics = field(default_factory=PayoutMetrics)


Deps = PaymentsDeps
