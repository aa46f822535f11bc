"""The story while the outside world misbehaves: nothing a person does is lost or done twice.

Twilio failing the first sends, Stripe down while the merchant is billed (the charge waits in
the payments DLQ until an operator replays it), earning switched off while a reward is due (it
waits, visible, and is applied once earning reopens), Stripe making a payout's transfer and never
answering (the payout is ``unknown`` until the reconciler settles it, with one transfer). The
stack's retry tiers are 1 s, 2 s, 3 s (``tests.support.system_stack.SHORT_RETRIES``), so a
message exhausts them within seconds.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from tests.support.ops_cli import run_cli
from tests.support.polling import eventually
from tests.support.story import (
    REWARD,
    Person,
    Platform,
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


@pytest.fixture
async def calm_fakes(platform: Platform) -> AsyncIterator[None]:
    """Faults a test sets end with it, whatever happens."""
    yield
    await platform.twilio.clear_faults()
    await platform.stripe.clear_faults()
    await platform.stripe.configure(deliver_events=True)


async def test_the_arrival_sms_arrives_once_when_twilio_fails_the_first_two_sends(
    platform: Platform, admin: Person, calm_fakes: None
) -> None:
    venue = await open_venue(platform, admin, reward_nova=REWARD)
    driver = await platform.driver()
    await platform.twilio.fail_next("messages.create", status=503, code=20500, times=2)
    session = await arrive(platform, driver, venue)

    await the_one_arrival_sms(platform, venue)
    assert await platform.twilio.calls("messages.create") >= 3
    await platform.session_reaches(driver, str(session["id"]), "merchant_notified")
    await confirm_by_sms(platform, driver, venue, str(session["id"]))
    await platform.wallet_reaches(driver, REWARD)


async def test_a_charge_stripe_refused_waits_in_the_dlq_and_a_replay_charges_once(
    platform: Platform, admin: Person, calm_fakes: None
) -> None:
    venue = await open_venue(platform, admin, reward_nova=REWARD)
    driver = await platform.driver()
    await platform.stripe.fail_next("payment_intents.create", status=500, times=None)
    session = await arrive(platform, driver, venue)
    await confirm_by_sms(platform, driver, venue, str(session["id"]))
    await platform.wallet_reaches(driver, REWARD)  # the reward does not wait for Stripe

    ops = {"NERAVA_API": platform.stack.gateway, "NERAVA_TOKEN": admin.token}
    listing = ["dead-letters", "list", "-s", "payments", "--queue", "payments.billing.charge"]

    async def dead_lettered() -> list[int]:
        code, stdout, stderr = await run_cli([*listing, "--json"], ops)
        assert code == 0, stderr
        ids = [int(item["id"]) for item in json.loads(stdout)["items"]]
        assert ids, "no dead letter yet"
        return ids

    ids = await eventually(dead_lettered, timeout=30, what="the charge in the payments DLQ")
    assert len(ids) == 1
    assert await platform.charges_for(venue.merchant["id"]) == []

    await platform.stripe.clear_faults()
    replay = ["dead-letters", "replay", str(ids[0]), "-s", "payments", "--yes", "--json"]
    code, stdout, stderr = await run_cli(replay, ops)
    assert code == 0, stderr
    assert json.loads(stdout)["done"] == 1
    await billed_once(platform, venue)
    code, stdout, _ = await run_cli(replay, ops)  # a second replay of the same letter
    assert code == 0
    assert json.loads(stdout)["done"] == 0
    await billed_once(platform, venue)


async def test_a_reward_due_while_earning_is_off_waits_and_is_applied_once(
    platform: Platform, admin: Person
) -> None:
    venue = await open_venue(platform, admin, reward_nova=REWARD)
    driver = await platform.driver()
    switches = "/v1/admin/payments/kill-switches"
    off = {"name": "NOVA_EARN_ENABLED", "enabled": False, "reason": "story: earning paused"}
    (await platform.call("PUT", switches, admin, body=off)).expect(200)
    try:
        session = await arrive(platform, driver, venue)
        await confirm_by_sms(platform, driver, venue, str(session["id"]))

        async def parked() -> dict[str, object]:
            waiting = await platform.call(
                "GET", "/v1/admin/payments/parked-rewards", admin, params={"waiting": "true"}
            )
            mine = [r for r in waiting.expect(200)["items"] if r["session_id"] == session["id"]]
            assert len(mine) == 1, "not parked yet"
            return dict(mine[0])

        reward = await eventually(parked, timeout=20, what="the reward parked, visible to ops")
        assert reward["reward_nova"] == REWARD
        assert await platform.wallet_balance(driver) == 0
        await billed_once(platform, venue)  # billing is not earning: the merchant still pays
    finally:
        on = {**off, "enabled": True, "reason": "story: earning back"}
        (await platform.call("PUT", switches, admin, body=on)).expect(200)

    await platform.wallet_reaches(driver, REWARD)
    history = await platform.call("GET", "/v1/wallet/transactions", driver)
    assert [t["kind"] for t in history.expect(200)["items"]] == ["earn"]


async def test_a_payout_stripe_made_but_never_answered_is_settled_by_the_reconciler(
    platform: Platform, admin: Person, calm_fakes: None
) -> None:
    venue = await open_venue(platform, admin, reward_nova=REWARD)
    driver = await platform.driver()
    session = await arrive(platform, driver, venue)
    await confirm_by_sms(platform, driver, venue, str(session["id"]))
    await platform.wallet_reaches(driver, REWARD)
    await open_payout_account(platform, driver)

    # Stripe makes every transfer, then never answers, and its webhooks are lost too (a
    # delivered transfer.created would settle the payout at once): the worker cannot know
    await platform.stripe.configure(deliver_events=False)
    await platform.stripe.commit_then_timeout("transfers.create", seconds=10, times=None)
    payout_id = await request_payout(platform, driver, REWARD)  # 202 at once all the same
    unknown = await payout_reaches(platform, driver, payout_id, "unknown")
    assert unknown["pending_reconciliation"] is True
    assert await platform.wallet_balance(driver) == 0  # held in clearing, never reversed

    ops = {"NERAVA_API": platform.stack.gateway, "NERAVA_TOKEN": admin.token}
    listing = ["dead-letters", "list", "-s", "payments", "--queue", "payments.payouts.execute"]

    async def worker_gave_up() -> None:
        code, stdout, stderr = await run_cli([*listing, "--json"], ops)
        assert code == 0, stderr
        assert json.loads(stdout)["items"], "the worker still retries"

    await eventually(worker_gave_up, timeout=60, what="the payout's command in the DLQ")
    await platform.stripe.clear_faults()  # from now on only the reconciler can settle it

    paid = await payout_reaches(platform, driver, payout_id, "succeeded")  # the reconciler
    [transfer] = await transfers_for(platform, payout_id)
    assert paid["stripe_transfer_id"] == transfer["id"]
    assert await platform.wallet_balance(driver) == 0
