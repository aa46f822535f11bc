"""Admin: the merchant list in a bounded number of statements (P1-6: the monolith ran 1 + N),
the session list by status, and audited completion and cancellation."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.sessions_service import SessionsService, outbox_data

DOMAIN_TABLES = ("merchants", "exclusive_sessions", "billing_events")


@contextmanager
def counting_statements() -> Iterator[list[str]]:
    """Every SQL statement any engine of this process runs on the sessions tables meanwhile."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if any(table in statement for table in DOMAIN_TABLES):
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


async def _merchants_with_history(service: SessionsService, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        place = await service.place()
        driver = service.actor("driver")
        done = (await service.activate(driver, place)).json()
        await service.call(
            "POST",
            f"/v1/merchants/{place.merchant['id']}/redemptions",
            place.owner,
            json={"code": done["offer_code"]},
        )
        await service.activate(service.actor("driver"), place)  # one open session
        ids.append(place.merchant["id"])
    return ids


async def test_merchant_list_runs_a_bounded_number_of_statements(
    service: SessionsService,
) -> None:
    await _merchants_with_history(service, 12)
    for limit in (2, 10, 100):
        with counting_statements() as statements:
            resp = await service.call(
                "GET", "/v1/admin/merchants", service.admin, params={"limit": limit}
            )
        assert resp.status_code == 200, resp.text
        assert len(resp.json()["items"]) == min(limit, len(resp.json()["items"]))
        assert len(statements) <= 3, (limit, statements)
        assert len(resp.json()["items"]) >= min(limit, 12)


async def test_merchant_list_shows_open_sessions_and_the_last_bill(
    service: SessionsService,
) -> None:
    ids = set(await _merchants_with_history(service, 3))
    found: dict[str, Any] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 50, **({"cursor": cursor} if cursor else {})}
        page = (
            await service.call("GET", "/v1/admin/merchants", service.admin, params=params)
        ).json()
        found.update({m["id"]: m for m in page["items"] if m["id"] in ids})
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert set(found) == ids
    for merchant in found.values():
        assert merchant["open_sessions"] == 1
        assert merchant["last_billing_event"]["amount_minor"] == 250
        assert merchant["notification_phone_masked"].startswith("+1******")


async def test_admin_reads_sessions_by_status(service: SessionsService) -> None:
    place = await service.place()
    driver = service.actor("driver")
    session = (await service.activate(driver, place)).json()
    await service.call("POST", f"/v1/exclusive-sessions/{session['id']}/cancel", driver)
    resp = await service.call(
        "GET",
        "/v1/admin/exclusive-sessions",
        service.admin,
        params={"status": "cancelled", "limit": 200},
    )
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    assert {s["status"] for s in items} == {"cancelled"}
    assert session["id"] in {s["id"] for s in items}
    bad = await service.call(
        "GET", "/v1/admin/exclusive-sessions", service.admin, params={"status": "bogus"}
    )
    assert bad.status_code == 400 and bad.json()["code"] == "validation_failed"


async def test_admin_completion_and_cancellation_are_audited(
    service: SessionsService, db: AsyncEngine
) -> None:
    place = await service.place()
    first = (await service.activate(service.actor("driver"), place)).json()
    second = (await service.activate(service.actor("driver"), place)).json()
    done = await service.call(
        "POST",
        f"/v1/admin/exclusive-sessions/{first['id']}/complete",
        service.admin,
        json={"reason": "merchant phoned support"},
    )
    assert done.status_code == 200, done.text
    events = await outbox_data(db, "session.completed.v1", first["id"])
    assert [e["confirmed_via"] for e in events] == ["admin"]
    again = await service.call(
        "POST", f"/v1/admin/exclusive-sessions/{first['id']}/complete", service.admin
    )
    assert again.status_code == 409 and again.json()["current"] == "completed"
    cancelled = await service.call(
        "POST", f"/v1/admin/exclusive-sessions/{second['id']}/cancel", service.admin
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    missing = await service.call(
        "POST", f"/v1/admin/exclusive-sessions/{uuid.uuid4()}/cancel", service.admin
    )
    assert missing.status_code == 404
    async with db.connect() as conn:
        audit = list(
            await conn.execute(
                text(
                    "SELECT action, actor_user_id, details FROM admin_audit "
                    "WHERE target_id IN (:a, :b) ORDER BY at"
                ),
                {"a": first["id"], "b": second["id"]},
            )
        )
    assert [(a.action, a.actor_user_id) for a in audit] == [
        ("session.complete", service.admin.user_id),
        ("session.cancel", service.admin.user_id),
    ]
    assert audit[0].details["reason"] == "merchant phoned support"
