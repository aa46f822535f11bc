"""Fixtures for the payments service against real Postgres/Redis/RabbitMQ.

``payments`` runs the real app (its lifespan, consumers, relay and jobs) on the run's database
and vhost, with a static JWT verifier for tokens minted by the test. Helpers fund wallets and
create merchants through the service's own use cases and projections."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from payments.deps import Hooks
from payments.settings import BILLING_CHARGE_QUEUE, PAYOUTS_EXECUTE_QUEUE, PaymentsSettings
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.fakes.stripe.control import StripeControl
from tests.support.isolation import RunInfra
from tests.support.jwt_tokens import TestSigningKeys
from tests.support.payments_service import (
    PaymentsClient,
    SettingsFactory,
    reset_switches,
    running,
    stripe_settings,
)


@pytest.fixture(scope="session")
def signing_keys() -> TestSigningKeys:
    return TestSigningKeys(kid="payments-test")


@pytest.fixture
def payments_settings(infra: RunInfra, fake_stripe: StripeControl) -> SettingsFactory:
    def build(**overrides: Any) -> PaymentsSettings:
        values: dict[str, Any] = {
            **stripe_settings(fake_stripe),
            "env": "test",
            "log_json": False,
            "database_url": infra.database_url,
            "redis_url": infra.redis_url,
            "redis_key_prefix": infra.redis_prefix,
            "rabbitmq_url": infra.rabbitmq_url,
            "retry_tiers": ["1s", "2s"],
            "retry_default_schedule": ["1s", "2s"],
            "retry_schedules": {
                BILLING_CHARGE_QUEUE: ["1s", "2s"],
                PAYOUTS_EXECUTE_QUEUE: ["1s", "2s"],
            },
            "payout_reconcile_interval_seconds": 3600,  # tests run the reconciler themselves
            "graceful_timeout_seconds": 10,
            "outbox_poll_seconds": 0.2,
            "kill_switch_cache_seconds": 0,
            "parked_rewards_interval_seconds": 3600,
            "idempotency_reaper_interval_seconds": 3600,
            "db_pool_size": 30,
            "db_max_overflow": 30,
            **overrides,
        }
        return PaymentsSettings(**values)

    return build


@pytest.fixture
async def payments(
    payments_settings: SettingsFactory, signing_keys: TestSigningKeys
) -> AsyncIterator[PaymentsClient]:
    async with running(payments_settings(), signing_keys) as client:
        yield client
        client.deps.hooks = Hooks()
        await reset_switches(client)


@pytest.fixture
async def db(infra: RunInfra) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(
        infra.database_url,
        pool_size=10,
        max_overflow=10,
        connect_args={"server_settings": {"search_path": "payments"}},
    )
    try:
        yield engine
    finally:
        await engine.dispose()
