"""Consumers on the real RabbitMQ: SMS delivery reports and merchants' replies, shaped as DESIGN
§10 lists them, published to ``nerava.events`` as notifications publishes them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import aio_pika
import pytest
from messaging.envelope import Envelope
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.isolation import RunInfra
from tests.support.polling import eventually
from tests.support.sessions_service import SessionsService, outbox_data


class Notifications:
    """Publishes what the notifications service publishes, on the run's vhost."""

    def __init__(self, channel: aio_pika.abc.AbstractChannel) -> None:
        self.channel = channel

    async def publish(
        self, message_type: str, data: dict[str, Any], message_id: uuid.UUID | None = None
    ) -> uuid.UUID:
        envelope = Envelope(
            message_id=message_id or uuid.uuid4(),
            type=message_type,
            producer="notifications",
            data=data,
        )
        exchange = await self.channel.get_exchange("nerava.events")
        await exchange.publish(
            aio_pika.Message(
                envelope.to_bytes(),
                message_id=str(envelope.message_id),
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                app_id="notifications",
            ),
            routing_key=message_type,
        )
        return envelope.message_id

    async def sms_status(
        self, kind: str, session_id: str, purpose: str = "arrival", **extra: Any
    ) -> uuid.UUID:
        return await self.publish(
            f"notification.sms_{kind}.v1",
            {
                "delivery_key": f"{session_id}:{purpose}",
                "reference": {"kind": "exclusive_session", "id": session_id},
                "status": kind,
                "error_code": extra.pop("error_code", None),
                "at": datetime.now(UTC).isoformat(),
                **extra,
            },
        )

    async def reply(
        self, session_id: str | None, keyword: str, reply_code: str | None, **kw: Any
    ) -> uuid.UUID:
        reference = {"kind": "exclusive_session", "id": session_id} if session_id else None
        return await self.publish(
            "sms.reply_received.v1",
            {
                "message_sid": "SM" + uuid.uuid4().hex,
                "reference": reference,
                "keyword": keyword,
                "reply_code": reply_code,
                "received_at": datetime.now(UTC).isoformat(),
            },
            **kw,
        )


@pytest.fixture
async def notifications(infra: RunInfra, service: SessionsService) -> Any:
    connection = await aio_pika.connect(infra.rabbitmq_url)
    try:
        yield Notifications(await connection.channel(publisher_confirms=True))
    finally:
        await connection.close()


async def _row(db: AsyncEngine, session_id: str) -> Any:
    async with db.connect() as conn:
        return (
            await conn.execute(
                text(
                    "SELECT status, notify_status, confirmed_via FROM exclusive_sessions "
                    "WHERE id = :id"
                ),
                {"id": session_id},
            )
        ).one()


async def _processed(db: AsyncEngine, message_id: uuid.UUID) -> bool:
    async with db.connect() as conn:
        found = await conn.scalar(
            text("SELECT count(*) FROM inbox WHERE message_id = :m"), {"m": message_id}
        )
    return bool(found)


async def _arrived(service: SessionsService) -> tuple[Any, dict[str, Any], Any]:
    place = await service.place()
    driver = service.actor("driver")
    session = (await service.activate(driver, place)).json()
    resp = await service.call("POST", f"/v1/exclusive-sessions/{session['id']}/arrival", driver)
    assert resp.status_code == 200
    return place, session, driver


async def test_delivered_marks_the_merchant_notified(
    service: SessionsService, db: AsyncEngine, notifications: Notifications
) -> None:
    _, session, driver = await _arrived(service)
    await notifications.sms_status("sent", session["id"])
    message = await notifications.sms_status("delivered", session["id"])
    await eventually(
        lambda: _processed(db, message), what="the consumer to act on the message", timeout=20
    )
    assert (await _row(db, session["id"])).status == "merchant_notified"
    mine = await service.call("GET", f"/v1/exclusive-sessions/{session['id']}", driver)
    assert mine.json()["status"] == "merchant_notified"
    assert mine.json()["merchant_notified_at"] is not None


async def test_permanent_failure_flags_the_merchant_unreachable(
    service: SessionsService, db: AsyncEngine, notifications: Notifications
) -> None:
    _, session, driver = await _arrived(service)
    transient = await notifications.sms_status("failed", session["id"], permanent=False)
    await eventually(
        lambda: _processed(db, transient), what="the consumer to act on the message", timeout=20
    )
    assert (await _row(db, session["id"])).notify_status is None
    message = await notifications.sms_status(
        "failed", session["id"], permanent=True, error_code="21211"
    )
    await eventually(
        lambda: _processed(db, message), what="the consumer to act on the message", timeout=20
    )
    row = await _row(db, session["id"])
    assert row.status == "arrived" and row.notify_status == "merchant_unreachable"
    mine = await service.call("GET", f"/v1/exclusive-sessions/{session['id']}", driver)
    assert mine.json()["merchant_unreachable"] is True
    ops = await service.call("GET", f"/v1/admin/exclusive-sessions/{session['id']}", service.admin)
    assert ops.json()["notify_status"] == "merchant_unreachable"


async def test_done_reply_completes_the_session_and_confirms_by_sms(
    service: SessionsService, db: AsyncEngine, notifications: Notifications
) -> None:
    place, session, _ = await _arrived(service)
    command = (await outbox_data(db, "notifications.sms.send.v1", session["id"]))[0]
    message = await notifications.reply(session["id"], "done", command["reply_code"])
    await eventually(
        lambda: _processed(db, message), what="the consumer to act on the message", timeout=20
    )
    row = await _row(db, session["id"])
    assert row.status == "completed" and row.confirmed_via == "sms"
    completed = await outbox_data(db, "session.completed.v1", session["id"])
    assert len(completed) == 1 and completed[0]["confirmed_via"] == "sms"
    sms = await outbox_data(db, "notifications.sms.send.v1", session["id"])
    confirmation = [s for s in sms if s["delivery_key"].endswith(":confirmation")]
    assert len(confirmation) == 1
    assert confirmation[0]["to"] == place.merchant["notification_phone"]
    # a late "delivered" after completion changes nothing
    late = await notifications.sms_status("delivered", session["id"])
    await eventually(
        lambda: _processed(db, late), what="the consumer to act on the message", timeout=20
    )
    assert (await _row(db, session["id"])).status == "completed"


async def test_unmatched_stale_and_duplicate_replies_change_nothing(
    service: SessionsService, db: AsyncEngine, notifications: Notifications
) -> None:
    _, session, _ = await _arrived(service)
    command = (await outbox_data(db, "notifications.sms.send.v1", session["id"]))[0]
    wrong = "0000" if command["reply_code"] != "0000" else "1111"
    registry = service.app.state.metrics_registry

    def replies(outcome: str) -> float:
        value = registry.get_sample_value("sessions_sms_replies_total", {"outcome": outcome})
        return value or 0.0

    before = {o: replies(o) for o in ("unmatched", "stale", "ignored")}
    for message in (
        await notifications.reply(None, "done", command["reply_code"]),  # not matched
        await notifications.reply(session["id"], "done", wrong),  # another session's code
        await notifications.reply(session["id"], "help", None),
        await notifications.reply(session["id"], "done", "12x"),
    ):
        await eventually(
            lambda m=message: _processed(db, m),
            what="the consumer to act on the message",
            timeout=20,
        )  # type: ignore[misc]
    assert (await _row(db, session["id"])).status == "arrived"
    after = {o: replies(o) for o in ("unmatched", "stale", "ignored")}
    assert after["unmatched"] - before["unmatched"] == 2
    assert after["stale"] - before["stale"] == 1
    assert after["ignored"] - before["ignored"] == 1

    # the same message twice (a redelivery): completes once
    duplicates = replies("duplicate")
    message_id = uuid.uuid4()
    await notifications.reply(session["id"], "done", command["reply_code"], message_id=message_id)
    await notifications.reply(session["id"], "done", command["reply_code"], message_id=message_id)

    async def absorbed() -> bool:
        return bool(replies("duplicate") == duplicates + 1)

    await eventually(absorbed, what="the consumer to act on the message", timeout=20)
    async with db.connect() as conn:
        bills = await conn.scalar(
            text("SELECT count(*) FROM billing_events WHERE session_id = :s"), {"s": session["id"]}
        )
    assert bills == 1
    # a reply after the session ended is stale
    stale = await notifications.reply(session["id"], "done", command["reply_code"])
    await eventually(
        lambda: _processed(db, stale), what="the consumer to act on the message", timeout=20
    )
    assert len(await outbox_data(db, "session.completed.v1", session["id"])) == 1
