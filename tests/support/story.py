"""The product's story as its users live it, driven only through the gateway of a running stack.

``Platform`` signs people in by OTP (the code read from the fake Twilio, as a phone would show
it), gives roles as an operator does (``auth.manage promote``), and calls the public API with
each person's token; ``Twilio`` and ``Stripe`` are the fakes' admin handles, to see what the
outside world received and to speak as it does (a merchant's SMS reply, signed as Twilio signs).
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from multidict import CIMultiDict

from tests.fakes.stripe.config import StripeFakeConfig
from tests.fakes.stripe.control import StripeControl
from tests.fakes.twilio.config import TwilioFakeConfig
from tests.fakes.twilio.control import TwilioControl
from tests.support.polling import eventually
from tests.support.system_stack import RunningStack

REWARD = 25


def new_phone() -> str:
    return f"+1415{secrets.randbelow(10_000_000):07d}"


def new_client_ip() -> str:
    """Where a person's phone connects from, as the load balancer in front of the gateway
    reports it (X-Forwarded-For): each person their own, so per-IP limits treat them apart."""
    return f"198.18.{secrets.randbelow(256)}.{1 + secrets.randbelow(254)}"


def new_spot() -> tuple[float, float]:
    """A place on land far from every other story's (chargers are global)."""
    return 30 + secrets.randbelow(20_000) / 1000, -120 + secrets.randbelow(40_000) / 1000


@dataclass(frozen=True)
class Person:
    phone: str
    user_id: str
    token: str
    refresh_token: str
    client_ip: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-Forwarded-For": self.client_ip}


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: CIMultiDict[str]

    def expect(self, status: int) -> Any:
        assert self.status == status, f"expected {status}, got {self.status}: {self.body}"
        return self.body


class Platform:
    def __init__(self, stack: RunningStack, http: aiohttp.ClientSession) -> None:
        self.stack = stack
        self.http = http
        self.twilio = TwilioControl(stack.url("fake-twilio"), http, TwilioFakeConfig())
        self.stripe = StripeControl(stack.url("fake-stripe"), http, StripeFakeConfig())

    async def call(
        self,
        method: str,
        path: str,
        who: Person | None = None,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Answer:
        sent = {**(who.headers if who else {}), **(headers or {})}
        async with self.http.request(
            method, self.stack.gateway + path, json=body, headers=sent, params=params
        ) as resp:
            text = await resp.text()
            parsed = json.loads(text) if text else None
            return Answer(resp.status, parsed, CIMultiDict(resp.headers))

    # ---- people
    async def sign_in(self, phone: str) -> Person:
        client = {"X-Forwarded-For": new_client_ip()}
        started = await self.call(
            "POST", "/v1/auth/otp/start", body={"phone": phone}, headers=client
        )
        challenge = started.expect(202)["challenge_id"]
        code = await self.twilio.last_code_for(phone)
        verified = await self.call(
            "POST",
            "/v1/auth/otp/verify",
            body={"challenge_id": challenge, "code": code},
            headers=client,
        )
        tokens = verified.expect(200)
        return Person(
            phone,
            tokens["user"]["id"],
            tokens["access_token"],
            tokens["refresh_token"],
            client["X-Forwarded-For"],
        )

    async def refreshed(self, person: Person) -> Person:
        """``person`` with a new access token (and the refresh token that replaces theirs)."""
        answer = await self.call(
            "POST",
            "/v1/auth/token/refresh",
            body={"refresh_token": person.refresh_token},
            headers={"X-Forwarded-For": person.client_ip},
        )
        tokens = answer.expect(200)
        return replace(person, token=tokens["access_token"], refresh_token=tokens["refresh_token"])

    async def person_with_role(self, role: str) -> Person:
        """Signs a new person in, has an operator give them ``role``; their next token (a
        refresh) carries it."""
        phone = new_phone()
        first = await self.sign_in(phone)
        await self.stack.manage("auth", "promote", "--phone", phone, "--role", role)
        person = await self.refreshed(first)
        me = (await self.call("GET", "/v1/auth/me", person)).expect(200)
        assert me["role"] == role
        return person

    async def driver(self) -> Person:
        return await self.sign_in(new_phone())

    # ---- what a driver sees
    async def wallet_balance(self, driver: Person) -> int:
        balance: int = (await self.call("GET", "/v1/wallet", driver)).expect(200)["balance"]
        return balance

    async def wallet_reaches(self, driver: Person, balance: int) -> None:
        async def reached() -> bool:
            return await self.wallet_balance(driver) == balance

        await eventually(reached, timeout=30, what=f"the driver's wallet showing {balance} Nova")

    async def session(self, driver: Person, session_id: str) -> dict[str, Any]:
        found: dict[str, Any] = (
            await self.call("GET", f"/v1/exclusive-sessions/{session_id}", driver)
        ).expect(200)
        return found

    async def session_reaches(self, driver: Person, session_id: str, status: str) -> None:
        async def reached() -> bool:
            now: str = (await self.session(driver, session_id))["status"]
            return now == status

        await eventually(reached, timeout=30, what=f"session {session_id} {status}")

    # ---- what the outside world received
    async def sms_to(self, phone: str) -> list[dict[str, Any]]:
        return [
            m
            for m in await self.twilio.messages()
            if m.get("to") == phone and m.get("direction", "outbound-api") != "inbound"
        ]

    async def charges_for(self, merchant_id: str) -> list[dict[str, Any]]:
        return [
            pi
            for pi in await self.stripe.payment_intents()
            if pi.get("metadata", {}).get("merchant_id") == merchant_id
            and pi.get("status") == "succeeded"
        ]

    async def merchant_replies(self, phone: str, text: str) -> dict[str, Any]:
        """The merchant's phone answers: the fake Twilio POSTs it, signed, to the gateway."""
        return await self.twilio.send_inbound_sms(
            from_=phone, body=text, url=self.stack.gateway + "/v1/webhooks/twilio/sms"
        )


@dataclass(frozen=True)
class Venue:
    charger: dict[str, Any]
    merchant: dict[str, Any]
    owner: Person
    phone: str


async def open_venue(platform: Platform, admin: Person, *, reward_nova: int = 25) -> Venue:
    """An admin imports a charger and a merchant 100 m from it, owned by a new merchant user,
    whose payment method is on file with Stripe."""
    lat, lng = new_spot()
    external_id = f"story-{uuid.uuid4().hex[:12]}"
    charger = {
        "external_id": external_id,
        "name": "Story Supercharger",
        "network": "StoryNet",
        "lat": lat,
        "lng": lng,
        "connectors": [{"type": "CCS", "power_kw": 150}],
    }
    imported = await platform.call(
        "POST", "/v1/admin/sessions/chargers/import", admin, body={"chargers": [charger]}
    )
    imported.expect(200)
    owner = await platform.person_with_role("merchant")
    phone = new_phone()
    merchant = await platform.call(
        "POST",
        "/v1/admin/sessions/merchants",
        admin,
        body={
            "owner_user_id": owner.user_id,
            "name": "Story Cafe " + uuid.uuid4().hex[:6],
            "lat": lat + 0.0009,
            "lng": lng,
            "notification_phone": phone,
            "offer_title": "Free coffee",
            "billing_amount_minor": 250,
            "currency": "USD",
            "reward_nova": reward_nova,
        },
    )
    created = merchant.expect(201)
    assert phone not in json.dumps(created)  # shown masked, never in clear
    assert created["notification_phone_masked"].endswith(phone[-4:])
    nearby = await platform.call(
        "GET", "/v1/chargers/nearby", admin, params={"lat": lat, "lng": lng, "radius_m": 50}
    )
    found = [c for c in nearby.expect(200)["chargers"] if c["external_id"] == external_id]
    assert len(found) == 1

    async def billing_set() -> bool:
        answer = await platform.call(
            "PUT",
            f"/v1/admin/payments/merchants/{created['id']}/billing",
            admin,
            body={"payment_method_id": "pm_card_visa"},
        )
        # payments learns of the merchant from merchant.created.v1: 404 until it has
        return answer.status == 200

    await eventually(billing_set, timeout=30, what="the merchant's payment method on file")
    return Venue(found[0], created, owner, phone)


async def arrive_without_reporting(
    platform: Platform, driver: Person, venue: Venue
) -> dict[str, object]:
    """The driver finds the charger and its merchant and takes the deal (status ``active``)."""
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
    return dict(session)


async def arrive(platform: Platform, driver: Person, venue: Venue) -> dict[str, object]:
    """The driver takes the deal and reports arrival."""
    session = await arrive_without_reporting(platform, driver, venue)
    arrived = await platform.call("POST", f"/v1/exclusive-sessions/{session['id']}/arrival", driver)
    assert arrived.expect(200)["status"] == "arrived"
    return session


async def the_one_arrival_sms(platform: Platform, venue: Venue) -> str:
    """Exactly one SMS reached the merchant's phone; returns its reply code."""

    async def one_sms() -> dict[str, object]:
        received = await platform.sms_to(venue.phone)
        assert len(received) == 1, f"{len(received)} SMS so far"
        return received[0]

    sms = await eventually(one_sms, timeout=30, what="the arrival SMS at the merchant's phone")
    found = re.search(r"Reply DONE (\d{4})", str(sms["body"]))
    assert found, "the SMS asks for a DONE reply with the code"
    return found.group(1)


async def billed_once(platform: Platform, venue: Venue) -> None:
    """Stripe holds exactly one successful charge of the merchant, for its billing amount."""

    async def one_charge() -> None:
        charges = await platform.charges_for(venue.merchant["id"])
        assert len(charges) == 1, f"{len(charges)} charges"
        assert charges[0]["amount"] == 250
        assert charges[0]["currency"] == "usd"

    await eventually(one_charge, timeout=30, what="one charge of the merchant on Stripe")


async def confirm_by_sms(platform: Platform, driver: Person, venue: Venue, session_id: str) -> None:
    """The merchant answers the arrival SMS with its code; the session completes by SMS."""
    reply_code = await the_one_arrival_sms(platform, venue)
    reply = await platform.merchant_replies(venue.phone, f"DONE {reply_code}")
    assert [d["status"] for d in reply["deliveries"]] == [200]
    await platform.session_reaches(driver, session_id, "completed")
    assert (await platform.session(driver, session_id))["confirmed_via"] == "sms"


async def open_payout_account(platform: Platform, driver: Person) -> None:
    """The driver asks for a payout account and finishes Stripe's onboarding; Stripe's
    ``account.updated`` (signed, through the gateway's webhook) opens it for payouts."""
    account = await platform.call("POST", "/v1/payouts/account", driver)
    onboarding = account.expect(200)
    assert onboarding["payouts_enabled"] is False
    await platform.stripe.visit_onboarding(onboarding["onboarding_url"])

    async def opened() -> bool:
        again = await platform.call("POST", "/v1/payouts/account", driver)
        return bool(again.expect(200)["payouts_enabled"])

    await eventually(opened, timeout=30, what="the payout account opened by account.updated")


async def request_payout(platform: Platform, driver: Person, nova: int) -> str:
    """``POST /v1/payouts`` (202 at once, whatever Stripe is doing); returns the payout id."""
    key = {"Idempotency-Key": "story-payout-" + secrets.token_hex(10)}
    asked = await platform.call("POST", "/v1/payouts", driver, body={"nova": nova}, headers=key)
    accepted = asked.expect(202)
    assert accepted["nova"] == nova
    return str(accepted["payout_id"])


async def payout_reaches(platform: Platform, driver: Person, payout_id: str, status: str) -> Any:
    async def reached() -> Any:
        seen = (await platform.call("GET", f"/v1/payouts/{payout_id}", driver)).expect(200)
        assert seen["status"] == status, seen
        return seen

    return await eventually(reached, timeout=90, interval=0.5, what=f"payout {payout_id} {status}")


async def transfers_for(platform: Platform, payout_id: str) -> list[dict[str, Any]]:
    return [
        t
        for t in await platform.stripe.transfers()
        if (t.get("metadata") or {}).get("payout_id") == payout_id
    ]
