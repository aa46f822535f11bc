"""The analytics sink forwarding to PostHog through the real ``posthog`` SDK, against the fake
capture endpoint: only consenting users' events (consent changing mid-stream) and anonymous
events without personal data reach it; an overloaded or failing PostHog drops and counts,
never slowing or failing the sink."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aio_pika.abc import AbstractChannel
from messaging.envelope import Envelope

from tests.fakes.posthog.control import PostHogControl
from tests.integration.notifications.test_analytics_sink import analytics, counted
from tests.integration.notifications.test_consent_projection import consent_event, stored
from tests.support.notifications_service import Notifications, SettingsFactory, publish, running
from tests.support.polling import eventually, truthy


def forwarding(fake_posthog: PostHogControl, **overrides: Any) -> dict[str, Any]:
    return {
        "posthog_forwarding": True,
        "posthog_host": fake_posthog.url,
        "posthog_project_api_key": fake_posthog.api_key,
        "posthog_flush_interval_seconds": 0.2,
        "posthog_timeout_seconds": 2.0,
        **overrides,
    }


def forwarded(service: Notifications, outcome: str) -> float:
    value = service.app.state.metrics_registry.get_sample_value(
        "notifications_analytics_forwarded_total", {"outcome": outcome}
    )
    return float(value or 0)


async def settle(service: Notifications, **at_least: int) -> None:
    """Waits until the sink counted at least this many events of each outcome."""

    async def probe() -> bool:
        return all(counted(service, k) >= n for k, n in at_least.items())

    await eventually(truthy(probe), what="the sink to count the events", timeout=15)


async def consented(service: Notifications, channel: AbstractChannel, *users: Any) -> None:
    for user, analytics_on, at in users:
        await publish(channel, consent_event(user, analytics_on, at))
    for user, analytics_on, _ in users:

        async def recorded(user: uuid.UUID = user, on: bool = analytics_on) -> bool:
            return (await stored(service, user) or (None,))[0] is on

        await eventually(truthy(recorded), what="the consent projection", timeout=10)


async def test_only_consenting_users_and_anonymous_clean_events_reach_posthog(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_posthog: PostHogControl,
) -> None:
    consenting, unknown, changing = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    async with running(notifications_settings(**forwarding(fake_posthog))) as service:
        await consented(service, channel, (consenting, True, t0), (changing, True, t0))
        yes = analytics("session_activated", t0 + timedelta(minutes=1), consenting, offers=2)
        no = analytics("session_activated", t0 + timedelta(minutes=1), unknown)
        before = analytics("map_opened", t0 + timedelta(minutes=2), changing)
        clean = analytics("app_opened", t0 + timedelta(minutes=2), screen="map")
        personal = analytics("app_opened", t0 + timedelta(minutes=2), contact="+1 415 555 0100")
        for event in (yes, no, before, clean, personal, clean):  # clean redelivered
            await publish(channel, event)
        await settle(service, stored=3, no_consent=1, pii_without_user=1, duplicate=1)

        await consented(service, channel, (changing, False, t0 + timedelta(minutes=3)))
        after = analytics("map_opened", t0 + timedelta(minutes=4), changing)
        late = analytics("map_opened", t0 + timedelta(minutes=2, seconds=30), changing)
        for event in (after, late):
            await publish(channel, event)
        await settle(service, no_consent=3)

        expected = {str(e.message_id) for e in (yes, before, clean)}

        async def arrived() -> bool:
            return await fake_posthog.event_ids() >= expected

        await eventually(truthy(arrived), what="PostHog to receive the batch", timeout=15)
        await asyncio.sleep(1.0)  # several flush intervals: nothing else may follow
        events = {e["uuid"]: e for e in await fake_posthog.events()}
        assert set(events) == expected
        assert forwarded(service, "queued") == 3

    first = events[str(yes.message_id)]
    assert (first["event"], first["distinct_id"]) == ("session_activated", str(consenting))
    assert first["properties"]["offers"] == 2 and first["properties"]["producer"] == "sessions"
    assert datetime.fromisoformat(first["timestamp"]) == t0 + timedelta(minutes=1)
    anonymous = events[str(clean.message_id)]
    assert anonymous["distinct_id"] not in (None, "", str(consenting), str(changing))
    assert anonymous["properties"]["$process_person_profile"] is False


async def test_a_failing_posthog_drops_and_counts_and_the_sink_keeps_storing(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_posthog: PostHogControl,
) -> None:
    user = uuid.uuid4()
    now = datetime.now(UTC)
    await fake_posthog.fail_next("batch", status=503, times=None)
    settings = notifications_settings(**forwarding(fake_posthog, posthog_max_retries=0))
    async with running(settings) as service:
        await consented(service, channel, (user, True, now - timedelta(minutes=1)))
        sent = [analytics("map_opened", now, user, i=i) for i in range(5)]
        for event in sent:
            await publish(channel, event)
        await settle(service, stored=5)

        async def counted_failed() -> bool:
            return forwarded(service, "failed") >= 5

        await eventually(truthy(counted_failed), what="the failed uploads counted", timeout=15)
        assert await fake_posthog.calls("batch") >= 1
        assert await fake_posthog.events() == []


async def test_an_overloaded_posthog_client_drops_and_counts_without_slowing_the_sink(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_posthog: PostHogControl,
) -> None:
    user = uuid.uuid4()
    now = datetime.now(UTC)
    await fake_posthog.add_latency("batch", seconds=5, times=None)  # every upload hangs
    settings = notifications_settings(
        **forwarding(fake_posthog, posthog_max_queue_size=2, posthog_max_retries=0)
    )
    async with running(settings) as service:
        await consented(service, channel, (user, True, now - timedelta(minutes=1)))
        # one event first, until the SDK's upload of it hangs at PostHog: the burst then meets a
        # client whose only uploader is busy (a burst sent at once may all fit one batch)
        await publish(channel, analytics("map_opened", now, user, i=0))

        async def uploading() -> bool:
            return await fake_posthog.in_flight() > 0

        await eventually(truthy(uploading), what="the first upload hanging at PostHog")
        burst: list[Envelope] = [analytics("map_opened", now, user, i=i) for i in range(1, 30)]
        for event in burst:
            await publish(channel, event)
        await settle(service, stored=30)  # while PostHog holds the first upload

        assert forwarded(service, "dropped") > 0
        assert forwarded(service, "queued") + forwarded(service, "dropped") == 30
