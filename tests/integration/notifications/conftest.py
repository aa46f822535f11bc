"""The notifications service against the run's real Postgres, Redis and RabbitMQ."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractConnection
from notifications.settings import SEND_QUEUE, NotificationsSettings

from tests.fakes.twilio.control import TwilioControl
from tests.support.isolation import RunInfra
from tests.support.notifications_service import (
    TEST_TIERS,
    UNREACHABLE_PUBLIC_BASE,
    SettingsFactory,
)


@pytest.fixture
def notifications_settings(infra: RunInfra, fake_twilio: TwilioControl) -> SettingsFactory:
    def build(**overrides: Any) -> NotificationsSettings:
        values: dict[str, Any] = {
            "env": "test",
            "sms_sender": "twilio",
            "twilio_account_sid": fake_twilio.account_sid,
            "twilio_auth_token": fake_twilio.auth_token,
            "twilio_messaging_service_sid": fake_twilio.config.messaging_service_sid,
            "twilio_api_base": fake_twilio.url,
            "twilio_timeout_seconds": 3.0,
            "public_base_url": UNREACHABLE_PUBLIC_BASE,
            "log_json": False,
            "database_url": infra.database_url,
            "redis_url": infra.redis_url,
            "redis_key_prefix": infra.redis_prefix,
            "rabbitmq_url": infra.rabbitmq_url,
            "retry_tiers": TEST_TIERS,
            "retry_default_schedule": TEST_TIERS,
            "retry_schedules": {SEND_QUEUE: TEST_TIERS},
            "send_attempt_lease_seconds": 5,
            "graceful_timeout_seconds": 10,
            "outbox_poll_seconds": 0.2,
            **overrides,
        }
        return NotificationsSettings(**values)

    return build


@pytest.fixture
async def amqp(infra: RunInfra) -> AsyncIterator[AbstractConnection]:
    connection = await aio_pika.connect(infra.rabbitmq_url)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def channel(amqp: AbstractConnection) -> AsyncIterator[AbstractChannel]:
    ch = await amqp.channel()
    try:
        yield ch
    finally:
        if not ch.is_closed:
            await ch.close()
