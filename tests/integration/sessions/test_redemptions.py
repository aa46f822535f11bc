"""The merchant side: arrivals, and redeeming an offer code completes its session exactly once
(A7), with its billing event and session.completed.v1 in one transaction (P0-7)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from messaging.contracts import Message
from messaging.envelope import Envelope
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.support.jwt_tokens import TestSigningKeys
from tests.support.sessions_service import (
    SessionsService,
    SettingsFactory,
    outbox_data,
    running,
)


async def _billing(db: AsyncEngine, session_id: str) -> list[Any]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text("SELECT amount_minor, currency FROM billing_events WHERE session_id = :s"),
            {"s": session_id},
        )
        return list(rows)


async def _status(db: AsyncEngine, session_id: str) -> str:
    async with db.connect() as conn:
        status = await conn.scalar(
            text("SELECT status FROM exclusive_sessions WHERE id = :s"), {"s": session_id}
        )
    return str(status)


async def test_arrivals_list_the_open_sessions_with_their_codes(service: SessionsService) -> None:
    place = await service.place()
    drivers = [service.actor("driver") for _ in range(3)]
    sessions = [(await service.activate(d, place)).json() for d in drivers]
    await service.call("POST", f"/v1/exclusive-sessions/{sessions[2]['id']}/cancel", drivers[2])
    resp = await service.call("GET", f"/v1/merchants/{place.merchant['id']}/arrivals", place.owner)
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    assert [i["session_id"] for i in items] == [sessions[0]["id"], sessions[1]["id"]]
    assert [i["offer_code"] for i in items] == [
        sessions[0]["offer_code"],
        sessions[1]["offer_code"],
    ]
    other_owner = service.actor("merchant")
    path = f"/v1/merchants/{place.merchant['id']}/arrivals"
    assert (await service.call("GET", path, other_owner)).status_code == 404
    assert (await service.call("GET", path, drivers[0])).status_code == 403
    assert (await service.call("GET", path, service.admin)).status_code == 200


async def test_redeeming_completes_bills_and_publishes_once(
    service: SessionsService, db: AsyncEngine
) -> None:
    place = await service.place()
    driver = service.actor("driver")
    session = (await service.activate(driver, place)).json()
    path = f"/v1/merchants/{place.merchant['id']}/redemptions"
    # the merchant's price changes after activation: the bill keeps the activation's terms
    await service.call(
        "PATCH",
        f"/v1/admin/merchants/{place.merchant['id']}",
        service.admin,
        json={"billing_amount_minor": 999},
    )
    code = session["offer_code"].lower()  # typed in lower case: still the code
    done = await service.call("POST", path, place.owner, json={"code": code})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "completed" and body["amount_minor"] == 250
    assert await _billing(db, session["id"]) == [(250, "USD")]
    events = await outbox_data(db, "session.completed.v1", session["id"])
    assert events == [
        {
            "session_id": session["id"],
            "driver_id": str(driver.user_id),
            "merchant_id": place.merchant["id"],
            "billing_event_id": body["billing_event_id"],
            "amount_minor": 250,
            "currency": "USD",
            "reward_nova": 10,
            "confirmed_via": "merchant_api",
            "completed_at": events[0]["completed_at"],
        }
    ]
    again = await service.call("POST", path, place.owner, json={"code": session["offer_code"]})
    assert again.status_code == 409 and again.json()["code"] == "offer_code_already_redeemed"
    mine = await service.call("GET", f"/v1/exclusive-sessions/{session['id']}", driver)
    assert mine.json()["status"] == "completed" and mine.json()["confirmed_via"] == "merchant_api"


async def test_codes_of_other_merchants_and_unknown_codes_are_404(
    service: SessionsService, db: AsyncEngine
) -> None:
    mine, theirs = await service.place(), await service.place()
    driver = service.actor("driver")
    their_session = (await service.activate(driver, theirs)).json()
    path = f"/v1/merchants/{mine.merchant['id']}/redemptions"
    cross = await service.call("POST", path, mine.owner, json={"code": their_session["offer_code"]})
    assert cross.status_code == 404 and cross.json()["code"] == "offer_code_not_found"
    for code in ("ZZZZZZZZ", "bad", "x" * 32):
        resp = await service.call("POST", path, mine.owner, json={"code": code})
        assert resp.status_code == 404 and resp.json()["code"] == "offer_code_not_found"
    # the owner of the other merchant cannot redeem through a merchant that is not theirs
    stolen = await service.call(
        "POST", path, theirs.owner, json={"code": their_session["offer_code"]}
    )
    assert stolen.status_code == 404 and stolen.json()["code"] == "merchant_not_found"
    assert await _status(db, their_session["id"]) == "active"
    assert await _billing(db, their_session["id"]) == []


async def test_racing_redemptions_complete_the_session_exactly_once(
    service: SessionsService, db: AsyncEngine
) -> None:
    """A7: codes were redeemable twice. 8 redemptions of one code released by a barrier."""
    place = await service.place()
    session = (await service.activate(service.actor("driver"), place)).json()
    path = f"/v1/merchants/{place.merchant['id']}/redemptions"
    callers = 8
    barrier = asyncio.Barrier(callers)

    async def redeem() -> int:
        await barrier.wait()
        resp = await service.call("POST", path, place.owner, json={"code": session["offer_code"]})
        return resp.status_code

    statuses = sorted(await asyncio.gather(*(redeem() for _ in range(callers))))
    assert statuses == [200] + [409] * (callers - 1)
    assert len(await _billing(db, session["id"])) == 1
    assert len(await outbox_data(db, "session.completed.v1", session["id"])) == 1


class FailingOutbox:
    """The real outbox, except that staging ``session.completed.v1`` fails: a crash after the
    session update and the billing insert, before the event."""

    def __init__(self, real: Any) -> None:
        self.real = real

    async def add(self, session: AsyncSession, message: Message, **kw: Any) -> Envelope:
        return (await self.add_many(session, [message], **kw))[0]

    def rows(self, messages: list[Message], **kw: Any) -> Any:
        return self.real.rows(messages, **kw)

    async def add_many(
        self, session: AsyncSession, messages: list[Message], **kw: Any
    ) -> list[Envelope]:
        if any(m.message_type == "session.completed.v1" for m in messages):
            raise RuntimeError("injected failure between the billing insert and the event")
        result: list[Envelope] = await self.real.add_many(session, messages, **kw)
        return result


async def test_a_failure_between_the_writes_leaves_none_of_them(
    service: SessionsService,
    db: AsyncEngine,
    sessions_settings: SettingsFactory,
    signing_keys: TestSigningKeys,
) -> None:
    """P0-7: billing was committed apart from the session state."""
    place = await service.place()
    session = (await service.activate(service.actor("driver"), place)).json()
    path = f"/v1/merchants/{place.merchant['id']}/redemptions"
    async with running(
        sessions_settings(), signing_keys, outbox=FailingOutbox(service.deps.outbox)
    ) as broken:
        resp = await broken.call("POST", path, place.owner, json={"code": session["offer_code"]})
    assert resp.status_code == 500
    assert await _status(db, session["id"]) == "active"
    assert await _billing(db, session["id"]) == []
    assert await outbox_data(db, "session.completed.v1", session["id"]) == []

    # the database refuses the billing row: the session update goes with it
    trigger = f"fail_billing_{uuid.uuid4().hex[:8]}"
    async with db.begin() as conn:
        await conn.execute(
            text(
                f"CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF NEW.merchant_id = '{place.merchant['id']}' THEN "
                "RAISE EXCEPTION 'injected billing failure'; END IF; RETURN NEW; END $$"
            )
        )
        await conn.execute(
            text(
                f"CREATE TRIGGER {trigger} BEFORE INSERT ON billing_events "
                f"FOR EACH ROW EXECUTE FUNCTION {trigger}()"
            )
        )
    try:
        resp = await service.call("POST", path, place.owner, json={"code": session["offer_code"]})
        assert resp.status_code == 500
    finally:
        async with db.begin() as conn:
            await conn.execute(text(f"DROP TRIGGER {trigger} ON billing_events"))
            await conn.execute(text(f"DROP FUNCTION {trigger}()"))
    assert await _status(db, session["id"]) == "active"
    assert await outbox_data(db, "session.completed.v1", session["id"]) == []

    ok = await service.call("POST", path, place.owner, json={"code": session["offer_code"]})
    assert ok.status_code == 200
    assert len(await _billing(db, session["id"])) == 1
    assert len(await outbox_data(db, "session.completed.v1", session["id"])) == 1
