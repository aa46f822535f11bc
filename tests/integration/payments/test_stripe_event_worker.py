"""The Stripe event worker: a failing handler is marked failed and retried (the 200 was sent
long before), then dead-lettered and replayed; one claim per event whatever the concurrency;
no Stripe POST while money movement is blocked (§6c 20, 18, F 45)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from payments import stripe_event_handlers, stripe_event_store
from payments.deps import Hooks
from payments.stripe_event_handlers import EventOutcome
from payments.stripe_event_registry import EVENT_HANDLERS
from payments.stripe_event_store import NewEvent
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes.stripe.control import StripeControl
from tests.integration.payments.stripe_events_support import (
    COUNTED,
    CountingHandler,
    deliveries_to,
    event_json,
    event_row,
    wait_event,
)
from tests.support.payments_service import PaymentsClient
from tests.support.polling import eventually

ADMIN = uuid.uuid4()
QUEUE = "payments.stripe_events.process"


async def customers_created_for(fake_stripe: StripeControl, event_id: str) -> int:
    """The counting handler's customer POSTs for this event (its key): another test's work,
    retried meanwhile on the shared queues, is not counted."""
    sent = await fake_stripe.requests("customers.create")
    return sum(1 for r in sent if r["idempotency_key"] == f"customer:{event_id}")


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> CountingHandler:
    handler = CountingHandler()
    monkeypatch.setitem(EVENT_HANDLERS, COUNTED, handler)
    return handler


@pytest.fixture
async def url(payments: PaymentsClient, fake_stripe: StripeControl) -> AsyncIterator[str]:
    async with deliveries_to(payments, fake_stripe) as served:
        yield served


async def dead_letters(payments: PaymentsClient, since: datetime) -> list[dict[str, Any]]:
    resp = await payments.http.get(
        "/v1/admin/dead-letters",
        params={"queue": QUEUE, "status": "unresolved", "since": since.isoformat()},
        headers=payments.headers(ADMIN, "admin"),
    )
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


async def test_a_failing_handler_is_retried_after_the_200_then_processed_once(
    payments: PaymentsClient,
    fake_stripe: StripeControl,
    db: AsyncEngine,
    url: str,
    counted: CountingHandler,
) -> None:
    counted.failing = True
    sent = await fake_stripe.send_webhook(COUNTED, {"id": "obj_1"})
    assert sent["deliveries"][0]["status"] == 200  # answered before any processing
    event_id = sent["event"]["id"]
    failed = await wait_event(db, event_id, "failed")
    assert failed.attempts >= 1 and "RuntimeError" in failed.last_error
    counted.failing = False
    done = await wait_event(db, event_id, "processed")
    assert done.attempts >= 2 and done.processed_at is not None
    assert counted.done[event_id] == 1


async def test_past_the_retry_schedule_the_event_is_dead_lettered_and_replayed_once(
    payments: PaymentsClient,
    fake_stripe: StripeControl,
    db: AsyncEngine,
    url: str,
    counted: CountingHandler,
) -> None:
    counted.failing = True
    since = datetime.now(UTC)
    sent = await fake_stripe.send_webhook(COUNTED, {"id": "obj_1"})
    event_id = sent["event"]["id"]

    async def dead() -> bool:
        return len(await dead_letters(payments, since)) == 1

    await eventually(dead, timeout=40, what="the event's command in the DLQ")
    row = await event_row(db, event_id)
    assert row is not None and row.status == "failed" and row.attempts == 3  # 1 + 2 retries
    counted.failing = False
    [letter] = await dead_letters(payments, since)
    replay = await payments.http.post(
        f"/v1/admin/dead-letters/{letter['id']}/replay", headers=payments.headers(ADMIN, "admin")
    )
    assert replay.status_code == 200, replay.text
    await wait_event(db, event_id, "processed")
    assert counted.done[event_id] == 1


class ClaimBarrier(Hooks):
    def __init__(self, parties: int) -> None:
        self.barrier = asyncio.Barrier(parties)

    async def before_event_claim(self, event_id: str) -> None:
        async with asyncio.timeout(60):
            await self.barrier.wait()


async def test_concurrent_workers_process_an_event_once(
    payments: PaymentsClient, db: AsyncEngine, counted: CountingHandler
) -> None:
    event = event_json(COUNTED, {"id": "obj_1"})
    async with payments.deps.uow() as tx:  # stored without its command: only these two run
        await stripe_event_store.insert_event(
            tx,
            NewEvent(
                event_id=event["id"],
                event_type=COUNTED,
                livemode=False,
                account=None,
                api_version=None,
                created=event["created"],
                payload=event,
                source="webhook",
            ),
        )
    payments.deps.hooks = ClaimBarrier(2)
    outcomes = await asyncio.gather(
        stripe_event_handlers.process_event(payments.deps, event["id"]),
        stripe_event_handlers.process_event(payments.deps, event["id"]),
    )
    payments.deps.hooks = Hooks()
    assert sorted(outcomes) == [EventOutcome.PROCESSED, EventOutcome.SKIPPED]
    row = await event_row(db, event["id"])
    assert row is not None and row.status == "processed" and row.attempts == 1
    assert counted.calls[event["id"]] == 1


async def test_handlers_make_no_stripe_post_while_money_movement_is_blocked(
    payments: PaymentsClient,
    fake_stripe: StripeControl,
    db: AsyncEngine,
    url: str,
    counted: CountingHandler,
) -> None:
    counted.posts = True
    await payments.set_switch("BLOCK_ALL_MONEY_MOVEMENT", True, "incident")
    sent = await fake_stripe.send_webhook(COUNTED, {"id": "obj_1"})
    event_id = sent["event"]["id"]
    failed = await wait_event(db, event_id, "failed")
    assert "MoneyMovementDisabledError" in failed.last_error
    assert await customers_created_for(fake_stripe, event_id) == 0 and counted.done[event_id] == 0
    await payments.set_switch("BLOCK_ALL_MONEY_MOVEMENT", False, "resolved")
    await wait_event(db, event_id, "processed")
    assert await customers_created_for(fake_stripe, event_id) == 1 and counted.done[event_id] == 1


async def test_done_events_are_reaped_after_their_retention_and_open_ones_stay(
    payments: PaymentsClient, db: AsyncEngine
) -> None:
    ids = {}
    async with payments.deps.uow() as tx:
        for status in ("processed", "ignored", "failed", "received"):
            event = event_json("invoice.paid", {"id": f"in_{status}"})
            await stripe_event_store.insert_event(
                tx,
                NewEvent(
                    event_id=event["id"],
                    event_type="invoice.paid",
                    livemode=False,
                    account=None,
                    api_version=None,
                    created=event["created"],
                    payload=event,
                    source="backfill",
                ),
            )
            ids[status] = event["id"]
    async with db.begin() as conn:  # as if they were handled 46 days ago
        await conn.execute(
            text(
                "UPDATE stripe_events SET status = CASE WHEN event_id = :p THEN 'processed'"
                " WHEN event_id = :i THEN 'ignored' ELSE status END,"
                " received_at = now() - interval '46 days',"
                " processed_at = CASE WHEN event_id IN (:p, :i) THEN now() - interval '46 days'"
                " END WHERE event_id IN (:p, :i, :f, :r)"
            ),
            {"p": ids["processed"], "i": ids["ignored"], "f": ids["failed"], "r": ids["received"]},
        )
    assert await stripe_event_handlers.reap_done(payments.deps, batch=100) >= 2
    assert await event_row(db, ids["processed"]) is None
    assert await event_row(db, ids["ignored"]) is None
    for kept in (ids["failed"], ids["received"]):
        assert await event_row(db, kept) is not None
