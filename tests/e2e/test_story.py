"""The whole story through the gateway, every service a real process, Twilio and Stripe the
fakes behind their real SDKs: a driver finds a charger, takes a merchant's deal, arrives; the
merchant is told by SMS and confirms; the driver is rewarded, the merchant billed once, and the
driver spends part of the reward at the merchant and cashes the rest out. Every step checks
what the person would see."""

from __future__ import annotations

import secrets

from tests.support.story import (
    REWARD,
    Person,
    Platform,
    Venue,
    arrive,
    billed_once,
    confirm_by_sms,
    open_payout_account,
    open_venue,
    payout_reaches,
    request_payout,
    the_one_arrival_sms,
    transfers_for,
)


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
    await the_one_arrival_sms(platform, venue)
    await platform.session_reaches(driver, str(session["id"]), "merchant_notified")
    await confirm_by_sms(platform, driver, venue, str(session["id"]))

    await platform.wallet_reaches(driver, REWARD)
    await billed_once(platform, venue)
    await redeem(platform, driver, venue, nova=10)
    await open_payout_account(platform, driver)
    payout_id = await request_payout(platform, driver, REWARD - 10)
    assert await platform.wallet_balance(driver) == 0  # debited at once, in phase 1
    paid = await payout_reaches(platform, driver, payout_id, "succeeded")
    [transfer] = await transfers_for(platform, payout_id)
    assert paid["stripe_transfer_id"] == transfer["id"]
    assert transfer["amount"] == paid["amount_minor"]
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
    await platform.wallet_reaches(driver, REWARD)
    await billed_once(platform, venue)
    await redeem(platform, driver, venue, nova=REWARD)
