"""``POST /v1/webhooks/stripe``: the fake Stripe delivers over HTTP, signed as Stripe signs;
the app verifies the raw bytes, stores each event once and answers at once (§6c 17, 18, 21,
22, 24)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
from common.database import make_engine, make_session_factory
from common.problem import PROBLEM_MEDIA_TYPE
from common.uow import UnitOfWork
from payments.deps import Hooks
from payments.stripe_event_registry import EVENT_HANDLERS
from payments.stripe_webhooks import StripeWebhookVerifier
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes.stripe.control import StripeControl
from tests.integration.payments.stripe_events_support import (
    COUNTED,
    CountingHandler,
    body_of,
    commands_for,
    deliveries_to,
    event_json,
    event_row,
    post_signed,
    signature,
    wait_event,
)
from tests.support.payments_service import PaymentsClient, SettingsFactory

ROLLED_IN = "whsec_rolled_in_secret_000000000003"
OTHER = "whsec_some_other_endpoint_0000000009"


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> CountingHandler:
    handler = CountingHandler()
    monkeypatch.setitem(EVENT_HANDLERS, COUNTED, handler)
    return handler


@pytest.fixture
async def url(payments: PaymentsClient, fake_stripe: StripeControl) -> AsyncIterator[str]:
    async with deliveries_to(payments, fake_stripe) as served:
        yield served


async def test_the_signature_matrix(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine, url: str
) -> None:
    old = fake_stripe.webhook_secret

    async def send(**spec: object) -> tuple[str, int, str]:
        sent = await fake_stripe.send_webhook(COUNTED, {"id": "obj_1"}, **spec)  # type: ignore[arg-type]
        [delivery] = sent["deliveries"]
        return sent["event"]["id"], delivery["status"], delivery["response_body"]

    async def rejected(event_id: str, status: int, body: str, code: str) -> None:
        assert status == 400, body
        assert json.loads(body)["code"] == code
        assert await event_row(db, event_id) is None

    event_id, status, body = await send()
    assert status == 200, body
    assert await event_row(db, event_id) is not None
    await rejected(*await send(secrets=[OTHER]), "webhook_signature_invalid")
    await rejected(*await send(age_seconds=301), "webhook_signature_expired")
    await rejected(*await send(timestamp=int(time.time()) + 301), "webhook_signature_expired")
    # a secret roll: Stripe signs with both; either configuration verifies
    event_id, status, body = await send(secrets=[ROLLED_IN, old])
    assert status == 200, body
    payments.deps.webhooks = StripeWebhookVerifier([ROLLED_IN])
    event_id, status, body = await send(secrets=[ROLLED_IN, old])
    assert status == 200, body
    await rejected(*await send(secrets=[old]), "webhook_signature_invalid")

    raw = json.dumps(event_json(COUNTED, {"id": "obj_2"})).encode()
    event_id = json.loads(raw)["id"]
    good = signature(raw, ROLLED_IN)
    altered = raw.replace(b'"obj_2"', b'"obj_3"')
    for resp, code in (
        (await post_signed(payments, altered, ROLLED_IN, header=good), "webhook_signature_invalid"),
        (await payments.http.post("/v1/webhooks/stripe", content=raw), "webhook_signature_missing"),
        (await post_signed(payments, b'{"object": "list"}', ROLLED_IN), "webhook_payload_invalid"),
    ):
        assert resp.status_code == 400, resp.text
        assert resp.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
        assert body_of(resp)["code"] == code
    assert await event_row(db, event_id) is None


async def test_the_raw_bytes_are_verified_and_stored_as_sent(
    payments: PaymentsClient, fake_stripe: StripeControl, db: AsyncEngine
) -> None:
    event = event_json("invoice.paid", {"id": "in_1", "amount": 1.50, "name": "café"})
    # Key order, spacing and escapes a JSON re-serialisation would change.
    raw = (
        json.dumps(event, indent=None, separators=(" ,", " :  "), ensure_ascii=True)
        .replace('"id"', '"id"  ')
        .encode()
    )
    assert json.dumps(json.loads(raw)).encode() != raw
    resp = await post_signed(payments, raw, fake_stripe.webhook_secret)
    assert resp.status_code == 200, resp.text
    row = await event_row(db, event["id"])
    assert row is not None and row.payload == json.loads(raw)


async def test_a_duplicate_delivery_is_stored_and_handled_once(
    payments: PaymentsClient,
    fake_stripe: StripeControl,
    db: AsyncEngine,
    url: str,
    counted: CountingHandler,
) -> None:
    sent = await fake_stripe.send_webhook(COUNTED, {"id": "obj_1"}, times=2)
    assert [d["status"] for d in sent["deliveries"]] == [200, 200]
    replies = [json.loads(d["response_body"]) for d in sent["deliveries"]]
    assert [r["duplicate"] for r in replies] == [False, True]
    event_id = sent["event"]["id"]
    row = await wait_event(db, event_id, "processed")
    again = await fake_stripe.send_webhook(event_id=event_id)
    assert again["deliveries"][0]["status"] == 200
    await fake_stripe.drain()
    assert row.attempts == 1 and counted.done[event_id] == 1
    assert await commands_for(db, event_id) == 1
    assert (await event_row(db, event_id)).status == "processed"  # type: ignore[union-attr]


class StoreBarrier(Hooks):
    def __init__(self, parties: int) -> None:
        self.barrier = asyncio.Barrier(parties)

    async def before_event_store(self, event_id: str) -> None:
        async with asyncio.timeout(60):
            await self.barrier.wait()


async def test_concurrent_duplicate_deliveries_store_one_row_and_one_command(
    payments: PaymentsClient,
    fake_stripe: StripeControl,
    db: AsyncEngine,
    counted: CountingHandler,
) -> None:
    raw = json.dumps(event_json(COUNTED, {"id": "obj_1"})).encode()
    event_id = json.loads(raw)["id"]
    payments.deps.hooks = StoreBarrier(2)  # both verified, neither stored yet
    first, second = await asyncio.gather(
        post_signed(payments, raw, fake_stripe.webhook_secret),
        post_signed(payments, raw, fake_stripe.webhook_secret),
    )
    payments.deps.hooks = Hooks()
    assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
    assert sorted(body_of(r)["duplicate"] for r in (first, second)) == [False, True]
    await wait_event(db, event_id, "processed")
    assert await commands_for(db, event_id) == 1
    assert counted.done[event_id] == 1


async def test_a_database_that_cannot_store_is_a_503_and_stripe_delivers_again(
    payments: PaymentsClient,
    payments_settings: SettingsFactory,
    fake_stripe: StripeControl,
    db: AsyncEngine,
    url: str,
    counted: CountingHandler,
) -> None:
    working = payments.deps.uow
    down = payments_settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:9/nerava")
    engine = make_engine(down, pool_size=1, max_overflow=0)
    payments.deps.uow = UnitOfWork(make_session_factory(engine))
    try:
        sent = await fake_stripe.send_webhook(COUNTED, {"id": "obj_1"})
    finally:
        payments.deps.uow = working
        await engine.dispose()
    [delivery] = sent["deliveries"]
    assert delivery["status"] == 503, delivery
    assert json.loads(delivery["response_body"])["code"] == "dependency_unavailable"
    event_id = sent["event"]["id"]
    assert await event_row(db, event_id) is None and await commands_for(db, event_id) == 0
    # Stripe's next attempt: stored and handled once.
    again = await fake_stripe.send_webhook(event_id=event_id)
    assert again["deliveries"][0]["status"] == 200
    await wait_event(db, event_id, "processed")
    assert counted.done[event_id] == 1


async def test_unknown_types_and_mismatched_events_are_stored_as_ignored(
    payments: PaymentsClient,
    fake_stripe: StripeControl,
    db: AsyncEngine,
    url: str,
    counted: CountingHandler,
) -> None:
    cases = {
        "unknown_type": await fake_stripe.send_webhook("invoice.paid", {"id": "in_1"}),
        "account_mismatch": await fake_stripe.send_webhook(
            COUNTED, {"id": "obj_1"}, account="acct_1NotOurPlatform00"
        ),
        "account_mismatch/pi": await fake_stripe.send_webhook(
            "payment_intent.succeeded", {"id": "pi_1", "metadata": {}}, account="acct_1Other00"
        ),
    }
    for reason, sent in cases.items():
        assert sent["deliveries"][0]["status"] == 200, reason
        row = await wait_event(db, sent["event"]["id"], "ignored")
        assert row.last_error == reason.split("/")[0] and row.attempts == 1
    live = json.dumps(event_json(COUNTED, {"id": "obj_2"}, livemode=True)).encode()
    resp = await post_signed(payments, live, fake_stripe.webhook_secret)
    assert resp.status_code == 200, resp.text
    row = await wait_event(db, json.loads(live)["id"], "ignored")
    assert row.last_error == "livemode_mismatch"
    not_ours = await fake_stripe.send_webhook(
        "payment_intent.succeeded", {"id": "pi_2", "metadata": {"order": "x"}}
    )
    row = await wait_event(db, not_ours["event"]["id"], "ignored")
    assert row.last_error == "not a merchant billing PaymentIntent"
    assert sum(counted.calls.values()) == 0
