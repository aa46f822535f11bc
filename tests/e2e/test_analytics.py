"""Analytics through the whole system: sign-in and activation emit their events off the
request path; the sink in notifications keeps a driver's events only from the moment the driver
consented in the app, and nothing of a driver who never did."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.support.polling import eventually
from tests.support.story import Person, Platform, arrive_without_reporting, open_venue
from tests.support.system_stack import RunningStack


@pytest.fixture
async def sink(stack: RunningStack) -> AsyncIterator[AsyncEngine]:
    """The stack's database, to read what the analytics sink kept."""
    engine = create_async_engine(stack.database_url, pool_size=1, max_overflow=1)
    try:
        yield engine
    finally:
        await engine.dispose()


async def kept_events(sink: AsyncEngine, driver: Person) -> list[dict[str, Any]]:
    async with sink.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT name, producer, properties FROM notifications.analytics_events "
                "WHERE user_id = :user ORDER BY occurred_at"
            ),
            {"user": driver.user_id},
        )
        return [dict(row._mapping) for row in rows]


async def test_the_sink_keeps_a_drivers_events_only_once_they_consented(
    platform: Platform, admin: Person, sink: AsyncEngine
) -> None:
    venue = await open_venue(platform, admin)
    declined, consented = await platform.driver(), await platform.driver()
    consent = {"analytics": True, "marketing": False, "policy_version": "2026-12"}
    (await platform.call("PUT", "/v1/account/consent", consented, body=consent)).expect(200)

    async def projected() -> bool:
        async with sink.connect() as conn:
            found = await conn.scalar(
                text("SELECT analytics FROM notifications.user_consent WHERE user_id = :user"),
                {"user": consented.user_id},
            )
        return found is True

    await eventually(projected, timeout=30, what="the consent in the notifications projection")
    ignored = await arrive_without_reporting(platform, declined, venue)
    session = await arrive_without_reporting(platform, consented, venue)

    async def kept() -> list[dict[str, Any]]:
        events = await kept_events(sink, consented)
        assert events, "nothing kept yet"
        return events

    events = await eventually(kept, timeout=30, what="the consented driver's activation kept")
    # the sign-in came before the consent: not kept; the activation after it is
    assert events == [
        {
            "name": "deal_activated",
            "producer": "sessions",
            "properties": {
                "session_id": session["id"],
                "merchant_id": venue.merchant["id"],
                "charger_id": venue.charger["id"],
            },
        }
    ]
    assert ignored["id"] != session["id"]
    assert await kept_events(sink, declined) == []
