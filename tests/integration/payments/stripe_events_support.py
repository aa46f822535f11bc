"""Helpers of the Stripe webhook inbox tests: the app served over HTTP for the fake Stripe's
deliveries, events signed with the SDK's own helper, the inbox rows, a counting handler."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import stripe
from payments import stripe_requests
from payments.deps import PaymentsDeps
from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes.stripe.control import StripeControl
from tests.support.http_server import serve
from tests.support.payments_service import PaymentsClient
from tests.support.polling import eventually

PATH = "/v1/webhooks/stripe"
COUNTED = "test.counted"
"""An event type the tests register a counting handler for (``CountingHandler``)."""


@asynccontextmanager
async def deliveries_to(payments: PaymentsClient, fake_stripe: StripeControl) -> AsyncIterator[str]:
    """Serves the running app over real HTTP and points the fake's webhooks at it."""
    async with serve(payments.app, lifespan="off") as server:
        url = f"{server.url}{PATH}"
        await fake_stripe.configure(webhook_url=url)
        yield url


def event_json(
    type: str, obj: Mapping[str, Any], *, livemode: bool = False, account: str | None = None
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "data": {"object": dict(obj)},
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }
    if account is not None:
        event["account"] = account
    return event


def signature(raw: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """``Stripe-Signature`` as Stripe makes it (the SDK's own helper)."""
    at = int(time.time()) if timestamp is None else timestamp
    header: str = stripe.WebhookSignature.generate_signature_header(raw.decode(), secret, at)
    return header


async def post_signed(
    payments: PaymentsClient, raw: bytes, secret: str, *, header: str | None = None
) -> httpx.Response:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    headers["Stripe-Signature"] = signature(raw, secret) if header is None else header
    return await payments.http.post(PATH, content=raw, headers=headers)


async def event_row(db: AsyncEngine, event_id: str) -> Row[Any] | None:
    async with db.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT event_id, event_type, source, status, attempts, last_error, payload,"
                    " locked_until, processed_at FROM stripe_events WHERE event_id = :id"
                ),
                {"id": event_id},
            )
        ).first()
    return row


async def wait_event(db: AsyncEngine, event_id: str, status: str, within: float = 20) -> Row[Any]:
    async def reached() -> Row[Any]:
        row = await event_row(db, event_id)
        assert row is not None and row.status == status, row
        return row

    return await eventually(reached, timeout=within, what=f"{event_id} to be {status}")


async def commands_for(db: AsyncEngine, event_id: str) -> int:
    async with db.connect() as conn:
        count = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM outbox WHERE message_type = :t"
                    " AND convert_from(body, 'UTF8')::jsonb -> 'data' ->> 'event_id' = :id"
                ),
                {"t": "payments.stripe_events.process.v1", "id": event_id},
            )
        ).scalar()
    return int(count or 0)


class CountingHandler:
    """A handler for :data:`COUNTED` that counts the events it acted on; it fails while
    ``failing`` is set, or POSTs to Stripe (a customer) when ``posts`` is set."""

    def __init__(self) -> None:
        self.done: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.failing = False
        self.posts = False

    async def __call__(self, deps: PaymentsDeps, event: Mapping[str, Any]) -> None:
        self.calls[str(event["id"])] += 1
        await asyncio.sleep(0)
        if self.failing:
            raise RuntimeError("the handler's dependency is down")
        if self.posts:
            await deps.stripe.create_customer(
                stripe_requests.customer_request(str(event["id"]), name="webhook test")
            )
        self.done[str(event["id"])] += 1


def body_of(resp: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(resp.text)
    return body
