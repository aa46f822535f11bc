"""The consent projection on the real RabbitMQ: auth's ``user.consent_changed.v1`` events become
one row per user, exactly once per message, never moving back in time; a malformed event is
dead-lettered and changes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from aio_pika.abc import AbstractChannel
from auth.contracts import UserConsentChangedV1
from messaging.envelope import Envelope
from notifications import tables
from sqlalchemy import func, select

from tests.support.notifications_service import (
    Notifications,
    SettingsFactory,
    publish,
    running,
)
from tests.support.polling import eventually, truthy

QUEUE = "notifications.consent"


def consent_event(
    user_id: uuid.UUID, analytics: bool, changed_at: datetime, message_id: uuid.UUID | None = None
) -> Envelope:
    change = UserConsentChangedV1(
        user_id=user_id,
        analytics=analytics,
        marketing=False,
        policy_version="2026-11",
        changed_at=changed_at,
    )
    return Envelope(
        message_id=message_id or uuid.uuid4(),
        type=change.message_type,
        producer="auth",
        data=change.model_dump(mode="json"),
    )


async def stored(service: Notifications, user_id: uuid.UUID) -> tuple[bool, datetime] | None:
    consent = tables.user_consent
    async with service.engine.connect() as conn:
        row = (
            await conn.execute(
                select(consent.c.analytics, consent.c.changed_at).where(
                    consent.c.user_id == user_id
                )
            )
        ).first()
    return None if row is None else (row.analytics, row.changed_at)


async def inbox_rows(service: Notifications, message_id: uuid.UUID) -> int:
    inbox = tables.messaging.inbox
    async with service.engine.connect() as conn:
        count = await conn.scalar(
            select(func.count())
            .select_from(inbox)
            .where(inbox.c.consumer == QUEUE, inbox.c.message_id == message_id)
        )
    return int(count or 0)


async def test_a_consent_change_is_projected(
    notifications_settings: SettingsFactory, channel: AbstractChannel
) -> None:
    user = uuid.uuid4()
    at = datetime.now(UTC)
    async with running(notifications_settings()) as service:
        await publish(channel, consent_event(user, True, at))
        assert await eventually(
            truthy(lambda: stored(service, user)), what="the service to act on it", timeout=10
        ) == (True, at)


async def test_duplicates_and_older_changes_never_move_the_projection_back(
    notifications_settings: SettingsFactory, channel: AbstractChannel
) -> None:
    user = uuid.uuid4()
    first = datetime.now(UTC)
    revoked = consent_event(user, False, first + timedelta(seconds=5))
    async with running(notifications_settings()) as service:
        await publish(channel, consent_event(user, True, first))
        await eventually(
            truthy(lambda: stored(service, user)), what="the service to act on it", timeout=10
        )
        await publish(channel, revoked)
        await publish(channel, revoked)  # the same message again (a redelivery or a replay)
        revoked_at = first + timedelta(seconds=5)

        async def revoked_stored() -> bool:
            return await stored(service, user) == (False, revoked_at)

        await eventually(truthy(revoked_stored), what="the service to act on it", timeout=10)
        late = consent_event(user, True, first + timedelta(seconds=1))  # older, arrives last
        await publish(channel, late)
        await eventually(
            truthy(lambda: inbox_rows(service, late.message_id)),
            what="the service to act on it",
            timeout=10,
        )
        assert await stored(service, user) == (False, revoked_at)
        assert await inbox_rows(service, revoked.message_id) == 1


async def test_a_malformed_consent_event_is_dead_lettered_and_changes_nothing(
    notifications_settings: SettingsFactory, channel: AbstractChannel
) -> None:
    user = uuid.uuid4()
    bad = Envelope(
        type="user.consent_changed.v1",
        producer="auth",
        data={"user_id": str(user), "changed_at": datetime.now(UTC).isoformat()},  # no analytics
    )
    async with running(notifications_settings()) as service:
        await publish(channel, bad)
        dead = await eventually(
            truthy(lambda: _dead_letter(service, bad.message_id)),
            what="the service to act on it",
            timeout=10,
        )
        assert dead == ("poison", QUEUE)
        assert await stored(service, user) is None


async def test_readiness_reports_the_consent_consumer(
    notifications_settings: SettingsFactory,
) -> None:
    async with running(notifications_settings()) as service:
        ready = await service.http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert QUEUE in ready.text


async def _dead_letter(service: Notifications, message_id: uuid.UUID) -> tuple[str, str] | None:
    failed = tables.messaging.failed_messages
    async with service.engine.connect() as conn:
        row = (
            await conn.execute(
                select(failed.c.failure_kind, failed.c.queue).where(
                    failed.c.message_id == str(message_id)
                )
            )
        ).first()
    return None if row is None else (row.failure_kind, row.queue)
