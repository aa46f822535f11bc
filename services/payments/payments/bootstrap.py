"""The composition root of the payments service: the only module that imports adapters.

``running`` builds the deps from settings and the shared infrastructure and opens messaging
with them (the consumers' handlers get them as ``delivery.deps``; dead-letter replays of money
queues pass the kill-switch guard) and the periodic jobs. Tests replace parts of the deps.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from common.direct_sql import DirectPool, open_direct_pool
from common.periodic import run_periodic_jobs
from common.service import Infrastructure
from common.uow import UnitOfWork
from messaging.inbox import Inbox
from messaging.lifecycle import open_messaging
from messaging.outbox import Outbox
from messaging.subscriber import Subscriptions
from prometheus_client import CollectorRegistry

from payments import contracts, jobs, tables
from payments.deps import PaymentsDeps
from payments.kill_switch_reader import CachedKillSwitches
from payments.payout_metrics import PayoutMetrics
from payments.replay_guard import money_replay_guard
from payments.settings import PaymentsSettings
from payments.stripe_event_metrics import StripeEventMetrics
from payments.stripe_objects import StripeApi
from payments.stripe_provider import StripePaymentProvider
from payments.stripe_webhooks import StripeWebhookVerifier


def build_deps(
    settings: PaymentsSettings,
    infra: Infrastructure,
    *,
    direct: DirectPool | None = None,
    stripe_api: StripeApi | None = None,
    **overrides: Any,
) -> PaymentsDeps:
    """``direct``: the asyncpg pool of the hot path's single statements (key claims);
    ``stripe_api``: the Stripe client built in the lifespan (:func:`stripe_client`)."""
    database = infra.database
    values: dict[str, Any] = {
        "settings": settings,
        "uow": UnitOfWork(database.sessions, direct_pool=direct),
        "engine": database.engine,
        "outbox": Outbox(tables.messaging.outbox, contracts.PUBLISHES),
        "inbox": Inbox(tables.messaging.inbox),
        "kill_switches": CachedKillSwitches(
            database.engine, cache_seconds=settings.kill_switch_cache_seconds
        ),
        "stripe": stripe_api,
        "webhooks": StripeWebhookVerifier.from_settings(settings),
        "event_metrics": StripeEventMetrics(_registry(infra)),
    }
    values.update(overrides)
    if values["stripe"] is None:
        raise ValueError("build_deps needs the Stripe client (stripe_api=...)")
    return PaymentsDeps(**values)


def _registry(infra: Infrastructure) -> CollectorRegistry | None:
    """The app's metrics registry (None for a command run without the app)."""
    app = infra.app
    return None if app is None else getattr(app.state, "metrics_registry", None)


@asynccontextmanager
async def running(
    settings: PaymentsSettings,
    infra: Infrastructure,
    subscriptions: Subscriptions[PaymentsDeps] | None = None,
) -> AsyncIterator[PaymentsDeps]:
    async with (
        open_direct_pool(settings) as direct,
        stripe_client(settings, getattr(infra.app.state, "metrics_registry", None)) as stripe_api,
    ):
        registry = getattr(infra.app.state, "metrics_registry", None)
        deps = build_deps(
            settings,
            infra,
            direct=direct,
            stripe_api=stripe_api,
            payout_metrics=PayoutMetrics(registry),
        )
        async with _background(settings, infra, subscriptions, deps):
            yield deps


@asynccontextmanager
async def stripe_client(
    settings: PaymentsSettings, registry: CollectorRegistry | None = None
) -> AsyncIterator[StripePaymentProvider]:
    """The process's one Stripe client (its metrics in ``registry``), closed on exit."""
    provider = StripePaymentProvider.from_settings(settings, registry=registry)
    try:
        yield provider
    finally:
        await provider.close()


@asynccontextmanager
async def _background(
    settings: PaymentsSettings,
    infra: Infrastructure,
    subscriptions: Subscriptions[PaymentsDeps] | None,
    deps: PaymentsDeps,
) -> AsyncIterator[None]:
    async with (
        open_messaging(
            infra.app,
            settings,
            infra.database,
            tables.messaging,
            subscriptions,
            deps=deps,
            replay_guard=money_replay_guard(deps.kill_switches),
        ),
        # app=None: open_messaging already runs a periodic job registering the same metric
        # names in the app's registry (a second registration raises DuplicateTimeseries).
        run_periodic_jobs(None, jobs.periodic_jobs(deps)),
    ):
        yield
