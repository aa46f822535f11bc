"""Payout helpers for the payments tests: a driver whose payout account Stripe enabled, the
payout endpoints, what the ledger and the fake Stripe hold for one payout."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from payments import payout_store
from payments.deps import Hooks
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes.stripe.control import StripeControl
from tests.support.payments_service import PaymentsClient, new_key, scalar
from tests.support.polling import eventually

ADMIN = uuid.uuid4()


async def ready_driver(
    payments: PaymentsClient, fake_stripe: StripeControl, nova: int = 1000
) -> tuple[uuid.UUID, str]:
    """A funded driver with an onboarded Express account (payouts enabled)."""
    driver = await payments.add_driver(nova)
    account = await fake_stripe.create_account(ready=True)
    async with payments.deps.uow() as tx:
        await payout_store.store_account(tx, driver, account["id"])
        await payout_store.update_account_readiness(
            tx, account["id"], enabled=True, disabled_reason=None
        )
    return driver, str(account["id"])


async def post_payout(
    payments: PaymentsClient, driver: uuid.UUID, nova: Any, *, key: str | None = None
) -> httpx.Response:
    return await payments.http.post(
        "/v1/payouts", json={"nova": nova}, headers=payments.headers(driver, key=key or new_key())
    )


async def admin_payout(payments: PaymentsClient, payout_id: str) -> dict[str, Any]:
    resp = await payments.http.get(
        f"/v1/admin/payouts/{payout_id}", headers=payments.headers(ADMIN, "admin")
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def reconcile(payments: PaymentsClient, payout_id: str) -> httpx.Response:
    return await payments.http.post(
        f"/v1/admin/payouts/{payout_id}/reconcile", headers=payments.headers(ADMIN, "admin")
    )


async def wait_payout(payments: PaymentsClient, payout_id: str, status: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any]:
        payout = await admin_payout(payments, payout_id)
        assert payout["status"] == status, payout
        return payout

    return await eventually(reached, timeout=30, what=f"payout {payout_id} to be {status}")


async def transfers_of(fake_stripe: StripeControl, payout_id: str) -> list[dict[str, Any]]:
    return [t for t in await fake_stripe.transfers() if t["metadata"].get("payout_id") == payout_id]


async def journals_of(db: AsyncEngine, payout_id: str) -> list[str]:
    """The kinds of the ledger journals of one payout, in order."""
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT kind FROM ledger_transactions WHERE metadata ->> 'payout_id' = :id"
                " ORDER BY created_at"
            ),
            {"id": payout_id},
        )
        return [row[0] for row in rows]


async def published(db: AsyncEngine, message_type: str, payout_id: str) -> int:
    return int(
        await scalar(
            db,
            "SELECT count(*) FROM outbox WHERE message_type = :t"
            " AND convert_from(body, 'UTF8')::jsonb -> 'data' ->> 'payout_id' = :p",
            t=message_type,
            p=payout_id,
        )
    )


class StripeCallGate(Hooks):
    """Holds the first ``held`` callers at ``before_stripe_call`` until :meth:`open`; the
    others pass (a worker that stops between phase 1 and phase 2)."""

    def __init__(self, held: int = 1) -> None:
        self.held = held
        self.reached = asyncio.Event()
        self._open = asyncio.Event()

    async def before_stripe_call(self, operation: str) -> None:
        if self.held > 0:
            self.held -= 1
            self.reached.set()
            async with asyncio.timeout(120):
                await self._open.wait()

    def open(self) -> None:
        self._open.set()


async def dead_letters_of(
    payments: PaymentsClient, payout_id: str, since: datetime
) -> list[dict[str, Any]]:
    """The unresolved dead letters of the execute queue for one payout, since ``since``."""
    resp = await payments.http.get(
        "/v1/admin/dead-letters",
        params={
            "queue": "payments.payouts.execute",
            "status": "unresolved",
            "since": since.isoformat(),
        },
        headers=payments.headers(ADMIN, "admin"),
    )
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return [i for i in items if payout_id in json.dumps(i)]


async def unknown_payout(
    payments: PaymentsClient, fake_stripe: StripeControl, *, cached_500: bool = False
) -> tuple[uuid.UUID, str]:
    """A payout left ``unknown``: Stripe acted (or answered a stored 500) on every attempt of
    the worker, whose command then went to the DLQ."""
    driver, _ = await ready_driver(payments, fake_stripe, nova=1000)
    if cached_500:
        await fake_stripe.fail_next("transfers.create", status=500, times=None, cache=True)
    else:
        await fake_stripe.commit_then_timeout("transfers.create", seconds=10, times=3)
    since = datetime.now(UTC)
    payout_id = (await post_payout(payments, driver, 300)).json()["payout_id"]
    await wait_payout(payments, payout_id, "unknown")
    await eventually(
        lambda: dead_letters_of(payments, payout_id, since),
        timeout=40,
        what="the execute command in the DLQ",
    )
    return driver, payout_id


async def transfer_requests_for(fake_stripe: StripeControl, payout_id: str) -> list[Any]:
    """The ``POST /v1/transfers`` the fake received for this payout (its transfer group):
    other tests' payouts, retried meanwhile on the shared queue, are left out."""
    group = ["transfer_group", f"payout_{payout_id}"]
    requests = await fake_stripe.requests("transfers.create")
    return [r for r in requests if group in [list(p) for p in r.get("params", [])]]


async def transfer_posts_for(fake_stripe: StripeControl, payout_id: str) -> int:
    return len(await transfer_requests_for(fake_stripe, payout_id))
