"""After the chaos: what ops would settle, and the checks that nothing was lost or doubled.

Read straight from the stack's database and the fakes' records (the outside world's view):
dead letters and unsent outbox rows per service, reward journals per session, SMS per delivery,
charges per session, and the ledger's invariants.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.ops_cli import run_cli
from tests.support.story import Person, Platform

SCHEMAS = ("auth", "sessions", "notifications", "payments")
_MARK = re.compile(r"Ref [A-Z2-7]{8}")

LEDGER_INVARIANTS = {
    "unbalanced journals": "SELECT count(*) FROM (SELECT transaction_id"
    " FROM payments.ledger_entries GROUP BY transaction_id, asset HAVING sum(amount) <> 0) t",
    "balance != sum(entries)": "SELECT count(*) FROM payments.ledger_accounts a"
    " WHERE a.balance <> (SELECT coalesce(sum(amount), 0)"
    " FROM payments.ledger_entries e WHERE e.account_id = a.id)",
    "negative wallets": "SELECT count(*) FROM payments.ledger_accounts"
    " WHERE NOT allow_negative AND balance < 0",
    "version gaps": "SELECT count(*) FROM payments.ledger_accounts a WHERE"
    " a.version <> (SELECT count(*) FROM payments.ledger_entries e WHERE e.account_id = a.id)",
}


async def unresolved_dead_letters(engine: AsyncEngine) -> dict[str, int]:
    found: dict[str, int] = {}
    async with engine.connect() as conn:
        for schema in SCHEMAS:
            rows = await conn.execute(
                text(
                    f"SELECT queue, count(*) FROM {schema}.failed_messages"
                    " WHERE status <> 'resolved' AND status <> 'archived' GROUP BY queue"
                )
            )
            found.update({f"{schema}:{queue}": int(n) for queue, n in rows})
    return found


async def replay_dead_letters(platform: Platform, admin: Person, queues: dict[str, int]) -> int:
    """Replays every dead letter as an operator would (``nerava-ops dead-letters replay``)."""
    ops = {"NERAVA_API": platform.stack.gateway, "NERAVA_TOKEN": admin.token}
    replayed = 0
    for key in queues:
        service, queue = key.split(":", 1)
        args = ["dead-letters", "replay", "-s", service, "--queue", queue, "--yes", "--json"]
        code, stdout, stderr = await run_cli(args, ops)
        assert code == 0, stderr
        replayed += int(json.loads(stdout)["done"])
    return replayed


async def unsent_outbox_rows(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        counts = {
            schema: int(
                await conn.scalar(
                    text(f"SELECT count(*) FROM {schema}.outbox WHERE sent_at IS NULL")
                )
                or 0
            )
            for schema in SCHEMAS
        }
    return {schema: n for schema, n in counts.items() if n}


async def reward_journals(engine: AsyncEngine, session_ids: list[str]) -> Counter[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT external_ref FROM payments.ledger_transactions"
                " WHERE kind = 'earn' AND external_ref = ANY(:refs)"
            ),
            {"refs": [f"session:{s}" for s in session_ids]},
        )
        return Counter(ref.removeprefix("session:") for (ref,) in rows)


async def ledger_violations(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        found = {
            name: int(await conn.scalar(text(sql)) or 0) for name, sql in LEDGER_INVARIANTS.items()
        }
    return {name: n for name, n in found.items() if n}


async def sms_per_delivery(platform: Platform, phones: set[str]) -> Counter[str]:
    """Messages the fake Twilio created per delivery (each body ends with its delivery's mark)."""
    marks: Counter[str] = Counter()
    for message in await platform.twilio.messages():
        if message.get("to") in phones:
            found = _MARK.search(str(message.get("body", "")))
            if found:
                marks[found.group(0)] += 1
    return marks


async def charges_per_session(platform: Platform) -> Counter[str]:
    """Distinct successful PaymentIntents the fake Stripe holds, per session."""
    seen: dict[str, set[str]] = {}
    for intent in await platform.stripe.payment_intents():
        metadata: dict[str, Any] = intent.get("metadata") or {}
        if intent.get("status") == "succeeded" and "session_id" in metadata:
            seen.setdefault(str(metadata["session_id"]), set()).add(str(intent["id"]))
    return Counter({session: len(ids) for session, ids in seen.items()})
