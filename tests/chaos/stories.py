"""A driver's story told by a client that behaves like a real app while the system fails under it:
it retries what an app retries (a dropped connection, 502/503/504, 429) and takes the answer of
a retried write that had already succeeded (the open session, the state already reached, the
code already redeemed) as the success it is. Anything else is a defect and fails the story.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from tests.support.story import REWARD, Answer, Person, Platform, Venue

RETRYABLE = frozenset({429, 502, 503, 504})
STORY_DEADLINE_S = 240.0


@dataclass
class Outcome:
    driver: Person
    venue: Venue
    via: str
    session_id: str = ""
    status: str = "not started"
    retries: int = 0
    error: str = ""


class Persistent:
    def __init__(self, platform: Platform, outcome: Outcome) -> None:
        self.platform = platform
        self.outcome = outcome
        self.deadline = time.monotonic() + STORY_DEADLINE_S

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"story still at {self.outcome.status!r} at its deadline")
        return left

    async def call(
        self,
        method: str,
        path: str,
        who: Person | None,
        accept: Callable[[Answer], bool],
        body: Any = None,
    ) -> Answer:
        while True:
            self._left()
            try:
                answer = await self.platform.call(method, path, who, body=body)
            except (aiohttp.ClientError, TimeoutError):
                answer = None
            if answer is not None and accept(answer):
                return answer
            if answer is not None and answer.status not in RETRYABLE:
                raise AssertionError(f"{method} {path}: {answer.status} {answer.body}")
            self.outcome.retries += 1
            await asyncio.sleep(0.3)

    async def until(self, check: Callable[[], Any], what: str) -> Any:
        """Polls ``check`` (async, returns a value or None) through failures until a value."""
        while True:
            self._left()
            try:
                found = await check()
            except (aiohttp.ClientError, TimeoutError):
                found = None
            if found is not None:
                return found
            await asyncio.sleep(0.3)


def _status(*codes: int) -> Callable[[Answer], bool]:
    return lambda a: a.status in codes


def _already(*states: str) -> Callable[[Answer], bool]:
    """A transition that a retry finds done: the 200, or the 409 naming a later state."""

    def accept(a: Answer) -> bool:
        if a.status == 200:
            return True
        return (
            a.status == 409
            and a.body.get("code") == "session_state_conflict"
            and a.body.get("current") in states
        )

    return accept


async def tell(platform: Platform, outcome: Outcome) -> Outcome:
    """The whole story; ``outcome`` says how far it got, also when it fails."""
    try:
        await _story(Persistent(platform, outcome))
    except AssertionError as exc:
        outcome.error = str(exc)
    return outcome


async def _story(app: Persistent) -> None:
    outcome, platform = app.outcome, app.platform
    driver, venue = outcome.driver, outcome.venue
    merchant_id = venue.merchant["id"]
    body = {"merchant_id": merchant_id, "charger_id": venue.charger["id"]}
    activated = await app.call("POST", "/v1/exclusive-sessions", driver, _status(200, 201), body)
    session_id = outcome.session_id = str(activated.body["id"])
    outcome.status = "active"

    path = f"/v1/exclusive-sessions/{session_id}"
    later = ("arrived", "merchant_notified", "completed")
    await app.call("POST", f"{path}/arrival", driver, _already(*later))
    outcome.status = "arrived"

    async def reply_code() -> str | None:
        answer = await platform.call("GET", f"/v1/merchants/{merchant_id}/arrivals", venue.owner)
        if answer.status != 200:
            return None
        mine = [a for a in answer.body["items"] if a["session_id"] == session_id]
        return str(mine[0]["reply_code"]) if mine else None

    code = await app.until(reply_code, "the reply code in the merchant's arrivals")

    async def sms() -> str | None:
        bodies = [str(m["body"]) for m in await platform.sms_to(venue.phone)]
        return "sent" if any(re.search(rf"DONE {code}\b", b) for b in bodies) else None

    await app.until(sms, "the arrival SMS at the merchant's phone")
    outcome.status = "merchant notified by SMS"

    async def completed() -> str | None:
        try:
            answer = await platform.call("GET", path, driver)
        except (aiohttp.ClientError, TimeoutError):
            return None  # the gateway restarting: not known yet
        return "yes" if answer.status == 200 and answer.body["status"] == "completed" else None

    if outcome.via == "sms":
        while await completed() is None:  # the merchant answers again until it is confirmed
            app._left()
            await platform.merchant_replies(venue.phone, f"DONE {code}")
            for _ in range(20):
                if await completed() is not None:
                    break
                await asyncio.sleep(0.25)
    else:
        redeemed = await app.call(
            "POST",
            f"/v1/merchants/{merchant_id}/redemptions",
            venue.owner,
            lambda a: (
                a.status == 200
                or (a.status == 409 and a.body.get("code") == "offer_code_already_redeemed")
            ),
            {"code": activated.body["offer_code"]},
        )
        assert redeemed.status == 200 or await completed() is not None
    await app.until(completed, "the session completed")
    outcome.status = "completed"

    async def rewarded() -> str | None:
        answer = await platform.call("GET", "/v1/wallet", driver)
        return "yes" if answer.status == 200 and answer.body["balance"] == REWARD else None

    await app.until(rewarded, "the reward in the driver's wallet")
    outcome.status = "rewarded"
