"""The analytics sink on the real RabbitMQ: events of consenting users are kept, the others
dropped and counted, consent changing mid-stream; anonymous events only without personal data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aio_pika.abc import AbstractChannel
from messaging.envelope import Envelope
from notifications import tables
from sqlalchemy import select

from tests.integration.notifications.test_consent_projection import consent_event, stored
from tests.support.notifications_service import (
    Notifications,
    SettingsFactory,
    publish,
    running,
)
from tests.support.polling import eventually, truthy


def analytics(
    name: str, occurred_at: datetime, user_id: uuid.UUID | None = None, **properties: Any
) -> Envelope:
    return Envelope(
        type=f"analytics.{name}.v1",
        producer="sessions",
        data={
            "user_id": str(user_id) if user_id else None,
            "name": name,
            "properties": properties,
            "occurred_at": occurred_at.isoformat(),
        },
    )


async def kept(service: Notifications) -> set[uuid.UUID]:
    t = tables.analytics_events
    async with service.engine.connect() as conn:
        return {row[0] for row in await conn.execute(select(t.c.message_id))}


def counted(service: Notifications, outcome: str) -> float:
    value = service.app.state.metrics_registry.get_sample_value(
        "notifications_analytics_events_total", {"outcome": outcome}
    )
    return float(value or 0)


async def test_only_consenting_users_events_are_kept_as_consent_changes_mid_stream(
    notifications_settings: SettingsFactory, channel: AbstractChannel
) -> None:
    consenting, unknown, changing = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    async with running(notifications_settings()) as service:
        for user in (consenting, changing):
            await publish(channel, consent_event(user, True, t0))
        for user in (consenting, changing):
            await eventually(
                truthy(lambda user=user: stored(service, user)),
                what="the service to act on it",
                timeout=10,
            )

        yes = analytics("session_activated", t0 + timedelta(minutes=1), consenting, offers=2)
        no = analytics("session_activated", t0 + timedelta(minutes=1), unknown)
        before = analytics("map_opened", t0 + timedelta(minutes=2), changing)
        for event in (yes, no, before):
            await publish(channel, event)
        await eventually(
            truthy(lambda: _has(service, {yes.message_id, before.message_id})),
            what="the service to act on it",
            timeout=10,
        )
        await eventually(
            truthy(lambda: _at_least(service, "no_consent", 1)),
            what="the service to act on it",
            timeout=10,
        )

        await publish(channel, consent_event(changing, False, t0 + timedelta(minutes=3)))

        async def withdrawn() -> bool:
            return (await stored(service, changing) or (True,))[0] is False

        await eventually(truthy(withdrawn), what="the service to act on it", timeout=10)
        after = analytics("map_opened", t0 + timedelta(minutes=4), changing)
        late = analytics("map_opened", t0 + timedelta(minutes=2, seconds=30), changing)
        for event in (after, late):
            await publish(channel, event)
        await eventually(
            truthy(lambda: _at_least(service, "no_consent", 3)),
            what="the service to act on it",
            timeout=10,
        )
        assert await kept(service) >= {yes.message_id, before.message_id}
        assert not await kept(service) & {no.message_id, after.message_id, late.message_id}


async def test_anonymous_events_are_kept_only_without_personal_data(
    notifications_settings: SettingsFactory, channel: AbstractChannel
) -> None:
    now = datetime.now(UTC)
    async with running(notifications_settings()) as service:
        clean = analytics("app_opened", now, screen="map", build=412)
        with_phone = analytics("app_opened", now, contact="+1 415 555 0100")
        with_email = analytics("app_opened", now, note="write to jo@example.com")
        with_key = analytics("app_opened", now, user_name="Jo")
        for event in (clean, with_phone, with_email, with_key):
            await publish(channel, event)
        await publish(channel, clean)  # redelivered: kept once
        await eventually(
            truthy(lambda: _has(service, {clean.message_id})),
            what="the service to act on it",
            timeout=10,
        )
        await eventually(
            truthy(lambda: _at_least(service, "pii_without_user", 3)),
            what="the service to act on it",
            timeout=10,
        )
        await eventually(
            truthy(lambda: _at_least(service, "duplicate", 1)),
            what="the service to act on it",
            timeout=10,
        )
        found = await kept(service)
        assert clean.message_id in found
        assert not found & {with_phone.message_id, with_email.message_id, with_key.message_id}
        ready = await service.http.get("/readyz")
        assert "notifications.analytics" in ready.text


async def _has(service: Notifications, ids: set[uuid.UUID]) -> bool:
    return ids <= await kept(service)


async def _at_least(service: Notifications, outcome: str, n: int) -> bool:
    return counted(service, outcome) >= n
