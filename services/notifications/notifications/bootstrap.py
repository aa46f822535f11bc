"""The composition root of the notifications service: the only module that imports adapters.

``running`` builds the sender inside the running loop (it opens an HTTP session), the PostHog
forwarder when forwarding is on, the direct asyncpg pool of the send path's single statements,
the deps from settings and the shared infrastructure, and opens messaging with them (the
consumers' handlers get them as ``delivery.deps``); on exit the forwarder drains (bounded) and
the sender's session closes. Key material
comes from settings; in ``local``/``test`` missing phone keys are generated for this process
(settings refuse that elsewhere).
"""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from common.direct_sql import DirectPool, open_direct_pool
from common.health import register_readiness_check
from common.service import Infrastructure
from common.uow import UnitOfWork
from messaging.durations import parse_duration
from messaging.health import ConsumerCheck
from messaging.inbox import Inbox
from messaging.lifecycle import open_messaging
from messaging.outbox import Outbox
from messaging.subscriber import Subscriptions

from notifications import contracts, tables
from notifications.analytics_handlers import record_analytics_event
from notifications.analytics_sink import ANALYTICS_QUEUE, AnalyticsSink
from notifications.console_sender import ConsoleSmsSender
from notifications.deps import Deps, SendPolicy, SmsSender
from notifications.phone_vault import PhoneVault, generate_key_material, load_phone_keys
from notifications.posthog_forwarder import PostHogForwarder
from notifications.settings import SEND_QUEUE, NotificationsSettings, SmsSenderName
from notifications.twilio_sender import TwilioSmsSender
from notifications.twilio_webhooks import TwilioWebhookGuard


def utc_now() -> datetime:
    return datetime.now(UTC)


def build_phone_vault(settings: NotificationsSettings) -> PhoneVault:
    if settings.phone_encryption_keys and settings.phone_encryption_active_key_id:
        active = settings.phone_encryption_active_key_id
        keys = load_phone_keys(
            json.loads(settings.phone_encryption_keys.get_secret_value()), active
        )
    else:
        if settings.env.is_deployed:  # settings refuse this; never generate keys there
            raise RuntimeError("PHONE_ENCRYPTION_KEYS missing")
        active = "local"
        keys = load_phone_keys({active: generate_key_material()}, active)
    if settings.phone_lookup_key is not None:
        lookup = settings.phone_lookup_key.get_secret_value().encode()
    elif settings.env.is_deployed:
        raise RuntimeError("PHONE_LOOKUP_KEY missing")
    else:
        lookup = secrets.token_bytes(32)
    return PhoneVault(keys, active, lookup)


def build_sender(settings: NotificationsSettings) -> SmsSender:
    """The configured sender; call inside the running loop (it opens an HTTP session)."""
    if settings.sender is SmsSenderName.CONSOLE:
        return ConsoleSmsSender()
    assert settings.twilio_account_sid and settings.twilio_auth_token  # enforced by settings
    return TwilioSmsSender.create(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token.get_secret_value(),
        api_base=settings.twilio_api_base,
        messaging_service_sid=settings.twilio_messaging_service_sid,
        from_number=settings.twilio_from_number,
        timeout_seconds=settings.twilio_timeout_seconds,
        validity_seconds=settings.sms_validity_seconds,
        lookup_limit=settings.twilio_lookup_limit,
    )


def build_forwarder(
    settings: NotificationsSettings, infra: Infrastructure
) -> PostHogForwarder | None:
    """The PostHog forwarder when forwarding is on (settings refuse it half-configured)."""
    if not settings.posthog_forwarding:
        return None
    assert settings.posthog_host and settings.posthog_project_api_key  # enforced by settings
    return PostHogForwarder.create(
        host=settings.posthog_host,
        api_key=settings.posthog_project_api_key.get_secret_value(),
        max_queue_size=settings.posthog_max_queue_size,
        flush_interval_s=settings.posthog_flush_interval_seconds,
        timeout_s=settings.posthog_timeout_seconds,
        max_retries=settings.posthog_max_retries,
        registry=getattr(infra.app.state, "metrics_registry", None),
    )


def build_deps(
    settings: NotificationsSettings,
    infra: Infrastructure,
    sender: SmsSender,
    phones: PhoneVault,
    *,
    direct: DirectPool | None = None,
    **overrides: Any,
) -> Deps:
    """``direct``: the asyncpg pool of the send path's single statements (``send_statements``)."""
    values: dict[str, Any] = {
        "uow": UnitOfWork(infra.database.sessions, direct_pool=direct),
        "inbox": Inbox(tables.messaging.inbox),
        "outbox": Outbox(tables.messaging.outbox, contracts.PUBLISHES),
        "sender": sender,
        "phones": phones,
        "send_policy": SendPolicy(
            max_failures=len(settings.retry_schedule(SEND_QUEUE)),
            attempt_lease=timedelta(seconds=settings.send_attempt_lease_seconds),
            public_base_url=settings.public_base_url,
            reply_window=timedelta(seconds=settings.reply_window_seconds),
            resend_delays=tuple(
                timedelta(milliseconds=parse_duration(tier))
                for tier in settings.retry_schedule(SEND_QUEUE)
            ),
        ),
        "webhooks": TwilioWebhookGuard(
            settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else None,
            settings.public_base_url,
            settings.twilio_account_sid,
        ),
        "clock": utc_now,
        **overrides,
    }
    return Deps(**values)


@asynccontextmanager
async def running(
    settings: NotificationsSettings,
    infra: Infrastructure,
    phones: PhoneVault,
    subscriptions: Subscriptions[Deps] | None = None,
) -> AsyncIterator[Deps]:
    sender = build_sender(settings)
    forwarder = build_forwarder(settings, infra)
    try:
        async with open_direct_pool(settings) as direct:
            deps = build_deps(
                settings, infra, sender, phones, direct=direct, analytics_forwarder=forwarder
            )
            async with _messaging(settings, infra, subscriptions, deps):
                yield deps
    finally:
        try:
            if forwarder is not None:
                await forwarder.close()
        finally:
            await sender.close()


@asynccontextmanager
async def _messaging(
    settings: NotificationsSettings,
    infra: Infrastructure,
    subscriptions: Subscriptions[Deps] | None,
    deps: Deps,
) -> AsyncIterator[None]:
    """Messaging (consumers, relay, dead letters) and the analytics sink on it."""
    async with open_messaging(
        infra.app, settings, infra.database, tables.messaging, subscriptions, deps=deps
    ) as messaging:
        sink = AnalyticsSink(
            messaging.connection,
            functools.partial(record_analytics_event, deps),
            max_length=settings.analytics_queue_max_length,
            prefetch=settings.analytics_prefetch,
            registry=getattr(infra.app.state, "metrics_registry", None),
        )
        await sink.start()
        check = ConsumerCheck(messaging.connection, [ANALYTICS_QUEUE])
        register_readiness_check(infra.app, "analytics", check)
        try:
            yield
        finally:
            await sink.stop()
            await check.close()
