"""The whole story through the gateway, every service a real process, Twilio and Stripe the
fakes behind their real SDKs: a driver finds a charger, takes a merchant's deal, arrives; the
merchant is told by SMS and confirms; the driver is rewarded, the merchant billed once, and the
driver spends the reward. Every step checks what the person would see."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.e2e.story import Person, Platform, Venue, open_venue
from tests.support.polling import eventually
from tests.support.system_stack import RunningStack

REWARD = 25


@pytest.fixture
async def platform(stack: RunningStack) -> AsyncIterator[Platform]:
    async with aiohttp.ClientSession() as http:
        yield Platform(stack, http)


@pytest.fixture
async def admin(platform: Platform) -> Person:
    return await platform.person_with_role("admin")


async def arrive(platform: Platform, driver: Person, venue: Venue) -> dict[str, object]:
    """The driver finds the charger and its merchant, takes the deal and reports arrival."""
    lat, lng = venue.charger["lat"], venue.charger["lng"]
    nearby = await platform.call(
        "GET",
        "/v1/chargers/nearby",
        driver,
        params={"lat": lat, "lng": lng + 0.001, "radius_m": 2000, "limit": 5},
    )
    nearest = nearby.expect(200)["chargers"][0]
    assert nearest["id"] == venue.charger["id"]
    assert 0 < nearest["distance_m"] < 120
    listed = await platform.call("GET", f"/v1/chargers/{nearest['id']}/merchants", driver)
    offers = {m["id"]: m for m in listed.expect(200)["merchants"]}
    assert venue.merchant["id"] in offers

    body = {"merchant_id": venue.merchant["id"], "charger_id": nearest["id"]}
    activated = await platform.call("POST", "/v1/exclusive-sessions", driver, body=body)
    session = activated.expect(201)
    assert session["status"] == "active"
    assert len(session["offer_code"]) == 8
    again = await platform.call("POST", "/v1/exclusive-sessions", driver, body=body)
    assert again.expect(200)["id"] == session["id"]  # the open one, not a second

    arrived = await platform.call("POST", f"/v1/exclusive-sessions/{session['id']}/arrival", driver)
    assert arrived.expect(200)["status"] == "arrived"
    return dict(session)


async def the_one_arrival_sms(platform: Platform, venue: Venue) -> str:
    """Exactly one SMS reached the merchant's phone; returns its reply code."""

    async def one_sms() -> dict[str, object]:
        received = await platform.sms_to(venue.phone)
        assert len(received) == 1, f"{len(received)} SMS so far"
        return received[0]

    sms = await eventually(one_sms, timeout=20, what="the arrival SMS at the merchant's phone")
    found = re.search(r"Reply DONE (\d{4})", str(sms["body"]))
    assert found, "the SMS asks for a DONE reply with the code"
    return found.group(1)


async def rewarded_and_billed_once(platform: Platform, driver: Person, venue: Venue) -> None:
    await platform.wallet_reaches(driver, REWARD)

    async def one_charge() -> None:
        charges = await platform.charges_for(venue.merchant["id"])
        assert len(charges) == 1, f"{len(charges)} charges"
        assert charges[0]["amount"] == 250
        assert charges[0]["currency"] == "usd"

    await eventually(one_charge, timeout=20, what="one charge of the merchant on Stripe")


async def redeem(platform: Platform, driver: Person, venue: Venue, nova: int) -> None:
    key = {"Idempotency-Key": "story-" + secrets.token_hex(12)}
    body = {"merchant_id": venue.merchant["id"], "nova": nova}
    spent = await platform.call("POST", "/v1/wallet/redemptions", driver, body=body, headers=key)
    receipt = spent.expect(201)
    assert receipt["balance"] == REWARD - nova
    replay = await platform.call("POST", "/v1/wallet/redemptions", driver, body=body, headers=key)
    assert replay.expect(201) == receipt
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert await platform.wallet_balance(driver) == REWARD - nova
    history = await platform.call("GET", "/v1/wallet/transactions", driver)
    kinds = [t["kind"] for t in history.expect(200)["items"]]
    assert kinds == ["redeem", "earn"]  # newest first


async def test_a_driver_is_rewarded_when_the_merchant_replies_done_by_sms(
    platform: Platform, admin: Person
) -> None:
    venue = await open_venue(platform, admin, reward_nova=REWARD)
    driver = await platform.driver()
    assert await platform.wallet_balance(driver) == 0
    session = await arrive(platform, driver, venue)
    reply_code = await the_one_arrival_sms(platform, venue)
    await platform.session_reaches(driver, str(session["id"]), "merchant_notified")

    reply = await platform.merchant_replies(venue.phone, f"DONE {reply_code}")
    assert [d["status"] for d in reply["deliveries"]] == [200]
    await platform.session_reaches(driver, str(session["id"]), "completed")
    seen = await platform.session(driver, str(session["id"]))
    assert seen["confirmed_via"] == "sms"

    await rewarded_and_billed_once(platform, driver, venue)
    await redeem(platform, driver, venue, nova=10)
    # the merchant was thanked once, and was not sent the arrival SMS again
    bodies = [str(m["body"]) for m in await platform.sms_to(venue.phone)]
    assert len(bodies) == 2
    assert sum("confirmed" in b for b in bodies) == 1


async def test_a_driver_is_rewarded_when_the_merchant_redeems_the_code_in_the_app(
    platform: Platform, admin: Person
) -> None:
    venue = await open_venue(platform, admin, reward_nova=REWARD)
    driver = await platform.driver()
    session = await arrive(platform, driver, venue)
    await the_one_arrival_sms(platform, venue)

    arrivals = await platform.call(
        "GET", f"/v1/merchants/{venue.merchant['id']}/arrivals", venue.owner
    )
    waiting = [a for a in arrivals.expect(200)["items"] if a["session_id"] == session["id"]]
    assert len(waiting) == 1
    code = {"code": session["offer_code"]}
    path = f"/v1/merchants/{venue.merchant['id']}/redemptions"
    redeemed = await platform.call("POST", path, venue.owner, body=code)
    assert redeemed.expect(200)["status"] == "completed"
    twice = await platform.call("POST", path, venue.owner, body=code)
    assert twice.expect(409)["code"] == "offer_code_already_redeemed"
    stranger = await platform.call("POST", path, driver, body=code)
    assert stranger.status == 403

    seen = await platform.session(driver, str(session["id"]))
    assert seen["status"] == "completed"
    assert seen["confirmed_via"] == "merchant_api"
    await rewarded_and_billed_once(platform, driver, venue)
    await redeem(platform, driver, venue, nova=REWARD)
