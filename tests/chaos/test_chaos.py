"""Chaos: twenty drivers' stories at once while every service is killed once, one service loses
every Postgres connection, and RabbitMQ restarts. Afterwards, once the retry horizon (1 s, 2 s,
3 s here) has passed and ops replayed what landed in a DLQ: every story completed, and for every
session exactly one SMS per delivery, one reward journal and one merchant charge; the ledger's
invariants hold; no outbox row is left unsent and no dead letter is left unresolved.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable
from typing import Any

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from tests.chaos import settlement
from tests.chaos.faults import (
    FaultLog,
    broker_restored,
    crash_and_restart,
    restart_broker,
    scrape_counter,
    terminate_connections,
)
from tests.chaos.stories import Outcome, tell
from tests.support.polling import eventually
from tests.support.story import REWARD, Person, Platform, open_venue

DRIVERS = 20
VENUES = 5
CRASHED = ("auth", "sessions", "notifications", "payments", "gateway")
CONSUMERS = ("sessions", "notifications", "payments")


async def _consumed(platform: Platform, http: aiohttp.ClientSession, service: str) -> Counter[str]:
    """One service's messaging_consumed_total by outcome, now."""
    samples = await scrape_counter(http, platform.stack.url(service), "messaging_consumed_total")
    totals: Counter[str] = Counter()
    for labels, value in samples.items():
        totals[labels.split('outcome="')[1].split('"')[0]] += int(value)
    return totals


class Counted:
    """Consumer counters restart at zero with their process: read before each crash and at
    the end, and added up."""

    def __init__(self, platform: Platform, http: aiohttp.ClientSession) -> None:
        self.platform, self.http = platform, http
        self.before_crashes: Counter[str] = Counter()

    async def before_crash(self, service: str) -> None:
        if service in CONSUMERS:
            self.before_crashes += await _consumed(self.platform, self.http, service)

    async def total(self) -> dict[str, int]:
        now: Counter[str] = Counter()
        for service in CONSUMERS:
            now += await _consumed(self.platform, self.http, service)
        return dict(sorted((now + self.before_crashes).items()))


FAULT_WINDOW_S = 20.0
"""Each fault strikes at its own random moment in the first seconds of the stories (several may
overlap, as in a bad hour); stories start spread over the same window."""


async def _inject(platform: Platform, counted: Counted, log: FaultLog, rng: random.Random) -> None:
    async def crash(service: str) -> None:
        await counted.before_crash(service)
        await crash_and_restart(platform.stack, service, log)

    faults = [crash(service) for service in CRASHED]
    faults.append(terminate_connections(platform.stack, "payments", log))
    faults.append(restart_broker(log))

    async def at_random_moment(fault: Awaitable[object]) -> None:
        await asyncio.sleep(rng.uniform(1.0, FAULT_WINDOW_S))
        await fault

    await asyncio.gather(*(at_random_moment(f) for f in faults))


async def _staggered(platform: Platform, outcome: Outcome, delay: float) -> Outcome:
    await asyncio.sleep(delay)
    return await tell(platform, outcome)


@pytest.mark.timeout(900)
async def test_nothing_is_lost_or_doubled_while_the_system_fails_under_twenty_stories(
    platform: Platform, admin: Person, figures: list[dict[str, Any]]
) -> None:
    rng = random.Random()
    venues = [await open_venue(platform, admin, reward_nova=REWARD) for _ in range(VENUES)]
    drivers = [await platform.driver() for _ in range(DRIVERS)]
    outcomes = [
        Outcome(driver, venues[i % VENUES], via="sms" if i % 2 else "merchant_api")
        for i, driver in enumerate(drivers)
    ]
    log = FaultLog()
    async with aiohttp.ClientSession() as http, broker_restored():
        counted = Counted(platform, http)
        async with asyncio.TaskGroup() as chaos:  # a failure anywhere cancels the rest
            for i, outcome in enumerate(outcomes):
                chaos.create_task(_staggered(platform, outcome, i * FAULT_WINDOW_S / DRIVERS))
            chaos.create_task(_inject(platform, counted, log, rng))

        engine = create_async_engine(platform.stack.database_url, pool_size=1, max_overflow=1)
        try:
            dead = await settlement.unresolved_dead_letters(engine)
            replayed = await settlement.replay_dead_letters(platform, admin, dead)
            session_ids = [o.session_id for o in outcomes if o.session_id]
            phones = {v.phone for v in venues}

            async def settled() -> None:
                assert await settlement.unresolved_dead_letters(engine) == {}
                assert await settlement.unsent_outbox_rows(engine) == {}
                journals = await settlement.reward_journals(engine, session_ids)
                assert {s: journals[s] for s in session_ids} == {s: 1 for s in session_ids}
                charges = await settlement.charges_per_session(platform)
                assert {s: charges[s] for s in session_ids} == {s: 1 for s in session_ids}
                sms = await settlement.sms_per_delivery(platform, phones)
                assert [mark for mark, n in sms.items() if n != 1] == []
                # an arrival SMS per story, and a thank-you for each merchant who replied by SMS
                assert len(sms) == len(session_ids) + sum(o.via == "sms" for o in outcomes)

            await eventually(settled, timeout=60, what="the system to settle after the chaos")
            sms = await settlement.sms_per_delivery(platform, phones)
            violations = await settlement.ledger_violations(engine)
            consumed = await counted.total()
        finally:
            await engine.dispose()

    figures.append(
        {
            "stories": len(outcomes),
            "completed and rewarded": sum(o.status == "rewarded" for o in outcomes),
            "client retries": sum(o.retries for o in outcomes),
            "faults injected": log.injected,
            "dead letters (then replayed)": f"{dead} ({replayed} replayed)",
            "deliveries consumed by outcome": consumed,
            "SMS sent": sum(sms.values()),
        }
    )
    unfinished = [(o.via, o.status, o.error) for o in outcomes if o.status != "rewarded"]
    assert unfinished == []
    assert violations == {}
