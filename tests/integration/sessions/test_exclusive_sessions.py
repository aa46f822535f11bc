"""A driver's exclusive sessions: activation (one open per driver and merchant, P0-6),
arrival with its SMS command, cancel, reads; every transition guarded (409 naming the state)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.sessions_service import Place, SessionsService, outbox_data, random_spot


async def _open_count(db: AsyncEngine, driver: uuid.UUID, merchant: str) -> int:
    async with db.connect() as conn:
        count = await conn.scalar(
            text(
                "SELECT count(*) FROM exclusive_sessions WHERE user_id = :u AND merchant_id = :m "
                "AND status IN ('active', 'arrived', 'merchant_notified')"
            ),
            {"u": driver, "m": merchant},
        )
    return int(count or 0)


async def test_second_activation_returns_the_open_session(
    service: SessionsService, db: AsyncEngine
) -> None:
    place = await service.place()
    driver = service.actor("driver")
    first = await service.activate(driver, place)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "active" and len(body["offer_code"]) == 8
    assert body["expires_at"] > body["created_at"]
    second = await service.activate(driver, place)
    assert second.status_code == 200
    assert second.json()["id"] == body["id"]
    assert await _open_count(db, driver.user_id, place.merchant["id"]) == 1
    events = await outbox_data(db, "session.activated.v1", body["id"])
    assert events == [
        {
            "session_id": body["id"],
            "driver_id": str(driver.user_id),
            "merchant_id": place.merchant["id"],
            "charger_id": place.charger["id"],
            "expires_at": events[0]["expires_at"],
        }
    ]
    # the event carries the row's expiry (the database clock), set by the insert itself
    assert datetime.fromisoformat(events[0]["expires_at"]) == datetime.fromisoformat(
        body["expires_at"]
    )


async def test_racing_activations_create_exactly_one_session(
    service: SessionsService, db: AsyncEngine
) -> None:
    """P0-6: concurrent activations made duplicate active sessions. 8 callers released at once
    by a barrier: one 201, seven 200 with the same id, one row."""
    place = await service.place()
    driver = service.actor("driver")
    callers = 8
    barrier = asyncio.Barrier(callers)

    async def activate() -> tuple[int, str]:
        await barrier.wait()
        resp = await service.activate(driver, place)
        return resp.status_code, resp.json()["id"]

    results = await asyncio.gather(*(activate() for _ in range(callers)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * (callers - 1) + [201], results
    assert len({session_id for _, session_id in results}) == 1
    assert await _open_count(db, driver.user_id, place.merchant["id"]) == 1
    assert len(await outbox_data(db, "session.activated.v1", results[0][1])) == 1


async def test_the_pair_may_open_again_once_the_session_ended(
    service: SessionsService, db: AsyncEngine
) -> None:
    place = await service.place()
    driver = service.actor("driver")
    first = (await service.activate(driver, place)).json()
    cancelled = await service.call("POST", f"/v1/exclusive-sessions/{first['id']}/cancel", driver)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await service.activate(driver, place)
    assert again.status_code == 201 and again.json()["id"] != first["id"]
    # lapsed but not yet swept: reads as expired, and a new activation replaces it
    async with db.begin() as conn:
        await conn.execute(
            text(
                "UPDATE exclusive_sessions SET expires_at = now() - interval '1 s' WHERE id = :id"
            ),
            {"id": again.json()["id"]},
        )
    lapsed = await service.call("GET", f"/v1/exclusive-sessions/{again.json()['id']}", driver)
    assert lapsed.json()["status"] == "expired"
    third = await service.activate(driver, place)
    assert third.status_code == 201 and third.json()["id"] not in {first["id"], again.json()["id"]}
    assert len(await outbox_data(db, "session.expired.v1", again.json()["id"])) == 1


async def test_activation_refuses_unknown_inactive_and_distant_merchants(
    service: SessionsService, db: AsyncEngine
) -> None:
    driver = service.actor("driver")
    place = await service.place()
    unknown_merchant = await service.call(
        "POST",
        "/v1/exclusive-sessions",
        driver,
        json={"merchant_id": str(uuid.uuid4()), "charger_id": place.charger["id"]},
    )
    assert unknown_merchant.status_code == 404
    assert unknown_merchant.json()["code"] == "merchant_not_found"
    unknown_charger = await service.call(
        "POST",
        "/v1/exclusive-sessions",
        driver,
        json={"merchant_id": place.merchant["id"], "charger_id": str(uuid.uuid4())},
    )
    assert unknown_charger.status_code == 404
    assert unknown_charger.json()["code"] == "charger_not_found"
    lat, lng = random_spot()
    far = Place(
        charger=await service.add_charger(lat, lng),
        merchant=place.merchant,
        owner=place.owner,
    )
    too_far = await service.activate(driver, far)
    assert too_far.status_code == 422 and too_far.json()["code"] == "merchant_not_near_charger"
    inactive = Place(
        charger=place.charger,
        merchant=await service.add_merchant(
            place.owner, place.charger["lat"], place.charger["lng"], active=False
        ),
        owner=place.owner,
    )
    refused = await service.activate(driver, inactive)
    assert refused.status_code == 404 and refused.json()["code"] == "merchant_not_found"
    for extra in (
        {"status": "completed"},
        {"user_id": str(uuid.uuid4())},
        {"billing_amount_minor": 1},
        {"expires_at": "2099-01-01T00:00:00Z"},
    ):
        body = {"merchant_id": place.merchant["id"], "charger_id": place.charger["id"], **extra}
        resp = await service.call("POST", "/v1/exclusive-sessions", driver, json=body)
        assert resp.status_code == 400 and resp.json()["code"] == "validation_failed", extra
    bad_id = await service.call(
        "POST",
        "/v1/exclusive-sessions",
        driver,
        json={"merchant_id": "nope", "charger_id": place.charger["id"]},
    )
    assert bad_id.status_code == 400
    async with db.connect() as conn:
        count = await conn.scalar(
            text("SELECT count(*) FROM exclusive_sessions WHERE user_id = :u"),
            {"u": driver.user_id},
        )
    assert count == 0


async def test_arrival_notifies_the_merchant_in_the_same_transaction(
    service: SessionsService, db: AsyncEngine
) -> None:
    place = await service.place()
    driver = service.actor("driver")
    session = (await service.activate(driver, place)).json()
    path = f"/v1/exclusive-sessions/{session['id']}/arrival"
    other = await service.call("POST", path, service.actor("driver"))
    assert other.status_code == 404 and other.json()["code"] == "session_not_found"
    arrived = await service.call("POST", path, driver)
    assert arrived.status_code == 200 and arrived.json()["status"] == "arrived"
    again = await service.call("POST", path, driver)
    assert again.status_code == 409
    assert again.json()["code"] == "session_state_conflict"
    assert again.json()["current"] == "arrived"

    reported = await outbox_data(db, "session.arrival_reported.v1", session["id"])
    assert [r["session_id"] for r in reported] == [session["id"]]
    assert reported[0]["driver_id"] == str(driver.user_id)
    commands = await outbox_data(db, "notifications.sms.send.v1", session["id"])
    assert len(commands) == 1
    sms = commands[0]
    assert sms["delivery_key"] == f"{session['id']}:arrival"
    assert sms["to"] == place.merchant["notification_phone"]
    assert sms["template"] == "merchant_arrival"
    assert sms["reference"] == {"kind": "exclusive_session", "id": session["id"]}
    assert len(sms["reply_code"]) == 4 and sms["params"]["offer_code"] == session["offer_code"]
    # no other message carries the phone number
    async with db.connect() as conn:
        leaked = await conn.scalar(
            text(
                "SELECT count(*) FROM outbox WHERE message_type <> 'notifications.sms.send.v1' "
                "AND convert_from(body, 'UTF8') LIKE :p"
            ),
            {"p": "%" + place.merchant["notification_phone"][1:] + "%"},
        )
    assert leaked == 0


async def test_arrival_after_expiry_is_a_conflict(
    service: SessionsService, db: AsyncEngine
) -> None:
    place = await service.place()
    driver = service.actor("driver")
    session = (await service.activate(driver, place)).json()
    async with db.begin() as conn:
        await conn.execute(
            text(
                "UPDATE exclusive_sessions SET expires_at = now() - interval '1 s' WHERE id = :id"
            ),
            {"id": session["id"]},
        )
    late = await service.call("POST", f"/v1/exclusive-sessions/{session['id']}/arrival", driver)
    assert late.status_code == 409 and late.json()["current"] == "expired"
    assert await outbox_data(db, "notifications.sms.send.v1", session["id"]) == []


async def test_cancel_is_guarded(service: SessionsService, db: AsyncEngine) -> None:
    place = await service.place()
    driver = service.actor("driver")
    session = (await service.activate(driver, place)).json()
    path = f"/v1/exclusive-sessions/{session['id']}/cancel"
    assert (await service.call("POST", path, service.actor("driver"))).status_code == 404
    assert (await service.call("POST", path, driver)).status_code == 200
    again = await service.call("POST", path, driver)
    assert again.status_code == 409 and again.json()["current"] == "cancelled"
    events = await outbox_data(db, "session.cancelled.v1", session["id"])
    assert len(events) == 1 and events[0]["reason"] == "driver_cancelled"


async def test_my_sessions_are_paginated_and_only_mine(service: SessionsService) -> None:
    driver = service.actor("driver")
    ids = []
    for _ in range(5):
        place = await service.place()
        ids.append((await service.activate(driver, place)).json()["id"])
    other = service.actor("driver")
    await service.activate(other, await service.place())
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await service.call("GET", "/v1/exclusive-sessions", driver, params=params)
        assert page.status_code == 200, page.text
        seen += [s["id"] for s in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    # a cursor carries no authority: replayed by another driver it shows only their sessions
    replay = await service.call(
        "GET", "/v1/exclusive-sessions", other, params={"cursor": cursor or "", "limit": 50}
    )
    assert replay.status_code in (200, 400)
    first_page = await service.call("GET", "/v1/exclusive-sessions", driver, params={"limit": 2})
    minted = first_page.json()["next_cursor"]
    theirs = await service.call("GET", "/v1/exclusive-sessions", other, params={"cursor": minted})
    assert all(s["id"] not in ids for s in theirs.json()["items"])
    bad = await service.call("GET", "/v1/exclusive-sessions", driver, params={"cursor": "zzz"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"
    ignored = await service.call(
        "GET", "/v1/exclusive-sessions", other, params={"user_id": str(driver.user_id)}
    )
    assert all(s["id"] not in ids for s in ignored.json()["items"])


@pytest.mark.parametrize("path", ["/v1/exclusive-sessions/not-a-uuid", "/v1/exclusive-sessions/1"])
async def test_malformed_ids_are_400(service: SessionsService, path: str) -> None:
    resp = await service.call("GET", path, service.actor("driver"))
    assert resp.status_code == 400 and resp.json()["code"] == "validation_failed"
