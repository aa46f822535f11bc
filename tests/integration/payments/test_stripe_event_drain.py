"""Events stored while they cannot be processed, and events that never arrived: read-only mode
stores without processing and drains once after the flag is cleared (§6c F 47); the backfill
lists what Stripe could not deliver, every page, and processes each event once (§6c 23)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
from payments import stripe_event_store
from payments.manage import app as manage
from payments.stripe_event_backfill import backfill_events
from payments.stripe_event_handlers import EventOutcome, process_event
from payments.stripe_event_registry import EVENT_HANDLERS
from payments.stripe_event_store import NewEvent
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from tests.fakes.stripe.control import StripeControl
from tests.integration.payments.stripe_events_support import (
    COUNTED,
    CountingHandler,
    deliveries_to,
    event_json,
    event_row,
    wait_event,
)
from tests.support.isolation import RunInfra
from tests.support.jwt_tokens import TestSigningKeys
from tests.support.payments_service import PaymentsClient, SettingsFactory, running
from tests.support.polling import eventually

NOWHERE = "http://127.0.0.1:9/v1/webhooks/stripe"  # nothing listens: every delivery fails
BACKFILLED = 105  # more than one page of events.list (100)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> CountingHandler:
    handler = CountingHandler()
    monkeypatch.setitem(EVENT_HANDLERS, COUNTED, handler)
    return handler


def deferred(client: PaymentsClient) -> float:
    registry = client.app.state.metrics_registry
    value = registry.get_sample_value("stripe_events_handled_total", {"outcome": "deferred"})
    return float(value or 0)


async def test_read_only_mode_stores_events_and_they_drain_once_after(
    payments_settings: SettingsFactory,
    signing_keys: TestSigningKeys,
    fake_stripe: StripeControl,
    db: AsyncEngine,
    counted: CountingHandler,
) -> None:
    read_only = payments_settings(emergency_readonly_mode=True)
    async with running(read_only, signing_keys) as frozen, deliveries_to(frozen, fake_stripe):
        first = await fake_stripe.send_webhook(COUNTED, {"id": "obj_1"}, times=2)
        second = await fake_stripe.send_webhook(COUNTED, {"id": "obj_2"})
        statuses = [d["status"] for s in (first, second) for d in s["deliveries"]]
        assert statuses == [200, 200, 200]
        await eventually(lambda: deferred(frozen) >= 2, what="both commands consumed, deferred")
        ids = [first["event"]["id"], second["event"]["id"]]
        for event_id in ids:
            row = await event_row(db, event_id)
            assert row is not None and (row.status, row.attempts) == ("received", 0)
        assert sum(counted.calls.values()) == 0
    # The flag cleared (the replicas restarted without it): the backlog drains once.
    cleared = payments_settings(
        stripe_event_requeue_interval_seconds=0.2, stripe_event_requeue_after_seconds=0
    )
    async with running(cleared, signing_keys):
        for event_id in ids:
            row = await wait_event(db, event_id, "processed")
            assert row.attempts == 1
        await asyncio.sleep(1.0)  # a few more requeue rounds (0.2 s): nothing runs twice
    assert dict(counted.done) == {event_id: 1 for event_id in ids}
    assert dict(counted.calls) == {event_id: 1 for event_id in ids}


async def test_backfill_stores_and_processes_each_undelivered_event_once(
    payments: PaymentsClient,
    fake_stripe: StripeControl,
    db: AsyncEngine,
    infra: RunInfra,
    counted: CountingHandler,
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=5)
    missed = []
    for n in range(BACKFILLED):
        sent = await fake_stripe.send_webhook(COUNTED, {"id": f"obj_{n}"}, url=NOWHERE)
        assert sent["deliveries"][0]["error"], sent
        missed.append(sent["event"]["id"])
    async with deliveries_to(payments, fake_stripe):
        arrived = await fake_stripe.send_webhook(COUNTED, {"id": "obj_arrived"})
        await wait_event(db, arrived["event"]["id"], "processed")

    report = await backfill_events(payments.deps, since=since)
    assert (report.listed, report.stored, report.already_stored) == (BACKFILLED, BACKFILLED, 0)
    assert report.failed == [] and sum(report.outcomes.values()) == BACKFILLED
    for event_id in (missed[0], missed[-1]):
        row = await wait_event(db, event_id, "processed")
        assert row.source == "backfill" and row.attempts == 1

    # The operator command, run again: everything is stored and done already.
    env = {
        **infra.env(),
        "STRIPE_SECRET_KEY": fake_stripe.api_key,
        "STRIPE_API_BASE": fake_stripe.url,
        "STRIPE_WEBHOOK_SECRETS": json.dumps([fake_stripe.webhook_secret]),
    }
    code, stdout, stderr = await run_manage(
        ["backfill-stripe-events", "--since", since.isoformat()], env
    )
    assert code == 0, stdout + stderr
    again = json.loads(stdout.strip().splitlines()[-1])
    assert (again["listed"], again["stored"], again["already_stored"]) == (
        BACKFILLED,
        0,
        BACKFILLED,
    )
    assert again["outcomes"] == {"skipped": BACKFILLED}
    assert sum(counted.done.values()) == BACKFILLED + 1
    assert set(counted.done.values()) == {1}


async def run_manage(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """``python -m payments.manage <args>`` in-process, off the event loop."""
    result = await asyncio.to_thread(CliRunner().invoke, manage, args, env=env)
    return result.exit_code, result.stdout, result.stderr


async def test_a_failed_event_retried_in_read_only_mode_waits_for_the_drain(
    payments: PaymentsClient, db: AsyncEngine, counted: CountingHandler
) -> None:
    counted.failing = True
    event = event_json(COUNTED, {"id": "obj_1"})
    async with payments.deps.uow() as tx:  # stored without its command: only these calls run
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
    with pytest.raises(RuntimeError):
        await process_event(payments.deps, event["id"])
    settings = payments.deps.settings.model_copy(update={"emergency_readonly_mode": True})
    frozen = dataclasses.replace(payments.deps, settings=settings)
    assert await process_event(frozen, event["id"]) == EventOutcome.DEFERRED
    row = await event_row(db, event["id"])
    assert row is not None and (row.status, row.attempts) == ("received", 1)
    assert "RuntimeError" in row.last_error
    counted.failing = False
    assert await process_event(payments.deps, event["id"]) == EventOutcome.PROCESSED
    assert counted.done[event["id"]] == 1
