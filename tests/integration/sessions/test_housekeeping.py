"""Housekeeping: expiry (P1-2), stuck-session recovery (P1-3), safe with N replicas."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from sessions import housekeeping
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.sessions_service import Place, SessionsService, outbox_data


async def _seed_open(
    db: AsyncEngine,
    place: Place,
    count: int,
    *,
    status: str = "active",
    expires: str = "now() - interval '1 minute'",
    extra: str = "",
) -> list[str]:
    """``count`` open sessions at ``place``, written directly (faster than the API)."""
    async with db.begin() as conn:
        rows = await conn.execute(
            text(
                "INSERT INTO exclusive_sessions (id, user_id, merchant_id, charger_id, status, "
                "offer_code, reply_code, billing_amount_minor, currency, reward_nova, expires_at) "
                "SELECT gen_random_uuid(), gen_random_uuid(), :m, :c, 'active', "
                "upper(substr(md5(random()::text), 1, 8)), lpad(i::text, 4, '0'), 250, 'USD', 10, "
                f"{expires} FROM generate_series(1, :n) AS i RETURNING id"
            ),
            {"m": place.merchant["id"], "c": place.charger["id"], "n": count},
        )
        return [str(r[0]) for r in rows]


async def _statuses(db: AsyncEngine, ids: list[str]) -> dict[str, Any]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT s.id::text, s.status, s.ended_reason, s.renotified_at, "
                "(SELECT count(*) FROM billing_events b WHERE b.session_id = s.id) AS bills "
                "FROM exclusive_sessions s WHERE s.id::text = ANY(:ids)"
            ),
            {"ids": ids},
        )
        return {r.id: r for r in rows}


async def _events_per_session(db: AsyncEngine, message_type: str, ids: list[str]) -> dict[str, int]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT convert_from(body, 'UTF8')::jsonb -> 'data' ->> 'session_id', count(*) "
                "FROM outbox WHERE message_type = :t GROUP BY 1"
            ),
            {"t": message_type},
        )
        counts = {r[0]: r[1] for r in rows}
    return {i: counts.get(i, 0) for i in ids}


async def test_open_sessions_past_their_expiry_are_expired_and_published(
    service: SessionsService, db: AsyncEngine
) -> None:
    """P1-2: the monolith had no expiry job; sessions stayed active forever."""
    place = await service.place()
    driver = service.actor("driver")
    session = (await service.activate(driver, place)).json()
    fresh = (await service.activate(service.actor("driver"), place)).json()
    async with db.begin() as conn:
        await conn.execute(
            text(
                "UPDATE exclusive_sessions SET expires_at = now() - interval '1 s' WHERE id = :id"
            ),
            {"id": session["id"]},
        )
    await housekeeping.run_round(service.deps)
    rows = await _statuses(db, [session["id"], fresh["id"]])
    assert rows[session["id"]].status == "expired"
    assert rows[session["id"]].ended_reason == "timeout"
    assert rows[fresh["id"]].status == "active"
    events = await outbox_data(db, "session.expired.v1", session["id"])
    assert len(events) == 1 and events[0]["reason"] == "timeout"
    assert events[0]["driver_id"] == str(driver.user_id)
    await housekeeping.run_round(service.deps)
    assert len(await outbox_data(db, "session.expired.v1", session["id"])) == 1


async def test_stuck_sessions_get_one_reminder_then_expire(
    service: SessionsService, db: AsyncEngine
) -> None:
    """P1-3: sessions stuck in arrived stayed there; now: one re-notification, then expiry with
    reason merchant_no_response."""
    place = await service.place()
    driver = service.actor("driver")
    session = (await service.activate(driver, place)).json()
    await service.call("POST", f"/v1/exclusive-sessions/{session['id']}/arrival", driver)
    stuck = service.deps.rules.stuck_after_seconds + 5
    async with db.begin() as conn:
        await conn.execute(
            text(
                "UPDATE exclusive_sessions SET arrived_at = now() - make_interval(secs => :s) "
                "WHERE id = :id"
            ),
            {"id": session["id"], "s": stuck},
        )
    await housekeeping.run_round(service.deps)
    await housekeeping.run_round(service.deps)
    commands = await outbox_data(db, "notifications.sms.send.v1", session["id"])
    assert [c["delivery_key"].rsplit(":", 1)[1] for c in commands] == ["arrival", "renotify"]
    assert commands[1]["to"] == place.merchant["notification_phone"]
    assert (await _statuses(db, [session["id"]]))[session["id"]].status == "arrived"
    async with db.begin() as conn:
        await conn.execute(
            text(
                "UPDATE exclusive_sessions SET renotified_at = now() - make_interval(secs => :s) "
                "WHERE id = :id"
            ),
            {"id": session["id"], "s": stuck},
        )
    await housekeeping.run_round(service.deps)
    row = (await _statuses(db, [session["id"]]))[session["id"]]
    assert row.status == "expired" and row.ended_reason == "merchant_no_response"
    events = await outbox_data(db, "session.expired.v1", session["id"])
    assert [e["reason"] for e in events] == ["merchant_no_response"]
    mine = await service.call("GET", f"/v1/exclusive-sessions/{session['id']}", driver)
    assert mine.json()["status"] == "expired"


async def test_four_sweepers_never_expire_a_session_twice(
    service: SessionsService, db: AsyncEngine
) -> None:
    place = await service.place()
    ids = await _seed_open(db, place, 400)
    sweepers = 4
    barrier = asyncio.Barrier(sweepers)
    deps = dataclasses.replace(
        service.deps, rules=dataclasses.replace(service.deps.rules, housekeeping_batch_size=50)
    )

    async def sweep() -> int:
        await barrier.wait()
        total = 0
        while (done := await housekeeping.expire_due(deps)) > 0:
            total += done
        return total

    await asyncio.gather(*(sweep() for _ in range(sweepers)))
    rows = await _statuses(db, ids)
    assert {r.status for r in rows.values()} == {"expired"}
    events = await _events_per_session(db, "session.expired.v1", ids)
    assert sorted(set(events.values())) == [1], {k: v for k, v in events.items() if v != 1}


async def test_expiry_racing_completion_never_bills_an_expired_session(
    service: SessionsService, db: AsyncEngine
) -> None:
    place = await service.place()
    ids = await _seed_open(db, place, 30, expires="now() + interval '300 ms'")
    async with db.connect() as conn:
        codes = dict(
            (r[0], r[1])
            for r in await conn.execute(
                text(
                    "SELECT id::text, offer_code FROM exclusive_sessions WHERE id::text = ANY(:i)"
                ),
                {"i": ids},
            )
        )
    barrier = asyncio.Barrier(len(ids) + 2)
    path = f"/v1/merchants/{place.merchant['id']}/redemptions"

    async def redeem(code: str) -> int:
        await barrier.wait()
        resp = await service.call("POST", path, place.owner, json={"code": code})
        return resp.status_code

    async def any_open() -> bool:
        rows = await _statuses(db, ids)
        return any(r.status == "active" for r in rows.values())

    async def sweep() -> None:
        """Sweeps without pause from the release until every session has ended: the
        redemptions still running when the 300 ms run out meet the sweepers on the boundary."""
        await barrier.wait()
        async with asyncio.timeout(30):
            while await any_open():
                await housekeeping.expire_due(service.deps)

    statuses = await asyncio.gather(*(redeem(codes[i]) for i in ids), sweep(), sweep())
    assert set(statuses[: len(ids)]) <= {200, 409}
    outcomes = {r.status for r in (await _statuses(db, ids)).values()}
    assert outcomes <= {"completed", "expired"}
    rows = await _statuses(db, ids)
    completed = await _events_per_session(db, "session.completed.v1", ids)
    expired = await _events_per_session(db, "session.expired.v1", ids)
    for session_id, row in rows.items():
        if row.status == "completed":
            assert (row.bills, completed[session_id], expired[session_id]) == (1, 1, 0)
        else:
            assert row.status == "expired"
            assert (row.bills, completed[session_id], expired[session_id]) == (0, 0, 1)
