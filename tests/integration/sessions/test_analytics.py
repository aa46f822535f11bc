"""A new activation emits ``analytics.deal_activated.v1`` off the request path (the lossy
publisher); returning the open session again emits nothing."""

from __future__ import annotations

from tests.support.analytics_tap import analytics_tap
from tests.support.isolation import RunInfra
from tests.support.sessions_service import SessionsService

ACTIVATED = "analytics.deal_activated.v1"


async def test_a_new_activation_emits_one_analytics_event(
    service: SessionsService, infra: RunInfra
) -> None:
    place = await service.place()
    driver = service.actor("driver")
    async with analytics_tap(infra.rabbitmq_url, ACTIVATED) as tap:
        created = await service.activate(driver, place)
        assert created.status_code == 201, created.text
        event = await tap.next_of(str(driver.user_id))
        again = await service.activate(driver, place)
        assert again.status_code == 200, again.text
        assert await tap.none_of(str(driver.user_id), within=1.0)
    assert event.producer == "sessions" and event.data["name"] == "deal_activated"
    assert event.data["properties"] == {
        "session_id": created.json()["id"],
        "merchant_id": place.merchant["id"],
        "charger_id": place.charger["id"],
    }
    assert event.data["occurred_at"] is not None
