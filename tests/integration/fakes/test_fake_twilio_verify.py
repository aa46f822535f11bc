"""The fake Twilio Verify v2, driven through the real twilio SDK (async) and the common adapter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.fakes.twilio.control import TwilioControl

PHONE = "+14155550101"


@pytest.fixture
async def twilio(fake_twilio: TwilioControl) -> AsyncIterator[Client]:
    client = fake_twilio.client()
    try:
        yield client
    finally:
        await client.http_client.close()


def service(client: Client, fake: TwilioControl, sid: str | None = None):  # type: ignore[no-untyped-def]
    return client.verify.v2.services(sid or fake.verify_service_sid)


async def start(client: Client, fake: TwilioControl, phone: str = PHONE):  # type: ignore[no-untyped-def]
    return await service(client, fake).verifications.create_async(to=phone, channel="sms")


async def check(client: Client, fake: TwilioControl, code: str, phone: str = PHONE):  # type: ignore[no-untyped-def]
    return await service(client, fake).verification_checks.create_async(to=phone, code=code)


def wrong(code: str) -> str:
    return "".join(str((int(c) + 1) % 10) for c in code)


async def test_start_then_right_code_approves(twilio: Client, fake_twilio: TwilioControl) -> None:
    started = await start(twilio, fake_twilio)
    assert started.status == "pending"
    assert started.sid.startswith("VE") and len(started.sid) == 34
    assert started.to == PHONE and started.channel == "sms"
    code = await fake_twilio.last_code_for(PHONE)
    assert len(code) == 6 and code.isdigit()

    checked = await check(twilio, fake_twilio, code)
    assert checked.status == "approved" and checked.valid is True
    assert checked.sid == started.sid


async def test_wrong_code_is_pending_not_an_error(
    twilio: Client, fake_twilio: TwilioControl
) -> None:
    await start(twilio, fake_twilio)
    code = await fake_twilio.last_code_for(PHONE)
    checked = await check(twilio, fake_twilio, wrong(code))
    assert checked.status == "pending" and checked.valid is False
    assert (await check(twilio, fake_twilio, code)).status == "approved"


async def test_check_by_verification_sid(twilio: Client, fake_twilio: TwilioControl) -> None:
    started = await start(twilio, fake_twilio)
    code = await fake_twilio.last_code_for(PHONE)
    checked = await service(twilio, fake_twilio).verification_checks.create_async(
        verification_sid=started.sid, code=code
    )
    assert checked.status == "approved"


async def test_sixth_check_is_60202(twilio: Client, fake_twilio: TwilioControl) -> None:
    await start(twilio, fake_twilio)
    code = await fake_twilio.last_code_for(PHONE)
    for _ in range(5):
        assert (await check(twilio, fake_twilio, wrong(code))).status == "pending"
    with pytest.raises(TwilioRestException) as caught:
        await check(twilio, fake_twilio, code)
    assert (caught.value.status, caught.value.code) == (429, 60202)


async def test_restart_resends_same_code_until_60203(
    twilio: Client, fake_twilio: TwilioControl
) -> None:
    first = await start(twilio, fake_twilio)
    code = await fake_twilio.last_code_for(PHONE)
    for sends in range(2, 6):
        again = await start(twilio, fake_twilio)
        assert again.sid == first.sid
        assert len(again.send_code_attempts) == sends
        assert await fake_twilio.last_code_for(PHONE) == code
    with pytest.raises(TwilioRestException) as caught:
        await start(twilio, fake_twilio)
    assert (caught.value.status, caught.value.code) == (429, 60203)


async def test_approved_expired_cancelled_unknown_are_20404(
    twilio: Client, fake_twilio: TwilioControl
) -> None:
    await start(twilio, fake_twilio)
    code = await fake_twilio.last_code_for(PHONE)
    await check(twilio, fake_twilio, code)
    for _ in range(2):  # approved: soft-deleted
        with pytest.raises(TwilioRestException) as caught:
            await check(twilio, fake_twilio, code)
        assert (caught.value.status, caught.value.code) == (404, 20404)

    other = "+14155550102"
    await start(twilio, fake_twilio, other)
    await fake_twilio.advance_clock(601)  # codes live 10 minutes
    with pytest.raises(TwilioRestException) as caught:
        await check(twilio, fake_twilio, await fake_twilio.last_code_for(other), other)
    assert caught.value.code == 20404
    assert (await fake_twilio.verification(other))["status"] == "expired"
    restarted = await start(twilio, fake_twilio, other)  # expired: a new verification, new sid
    assert len(restarted.send_code_attempts) == 1

    third = "+14155550103"
    started = await start(twilio, fake_twilio, third)
    cancelled = (
        await service(twilio, fake_twilio)
        .verifications(started.sid)
        .update_async(status="canceled")
    )
    assert cancelled.status == "canceled"
    with pytest.raises(TwilioRestException) as caught:
        await check(twilio, fake_twilio, await fake_twilio.last_code_for(third), third)
    assert caught.value.code == 20404

    with pytest.raises(TwilioRestException) as caught:
        await check(twilio, fake_twilio, "123456", "+14155550199")  # never started
    assert (caught.value.status, caught.value.code) == (404, 20404)


async def test_fetch_verification(twilio: Client, fake_twilio: TwilioControl) -> None:
    started = await start(twilio, fake_twilio)
    fetched = await service(twilio, fake_twilio).verifications(started.sid).fetch_async()
    assert fetched.status == "pending" and fetched.to == PHONE
    with pytest.raises(TwilioRestException) as caught:
        await service(twilio, fake_twilio).verifications("VE" + "f" * 32).fetch_async()
    assert caught.value.code == 20404


async def test_wrong_service_sid_is_20404(twilio: Client, fake_twilio: TwilioControl) -> None:
    with pytest.raises(TwilioRestException) as caught:
        await service(twilio, fake_twilio, "VA" + "9" * 32).verifications.create_async(
            to=PHONE, channel="sms"
        )
    assert (caught.value.status, caught.value.code) == (404, 20404)


async def test_invalid_to_is_60200(twilio: Client, fake_twilio: TwilioControl) -> None:
    with pytest.raises(TwilioRestException) as caught:
        await start(twilio, fake_twilio, "4155550101")
    assert (caught.value.status, caught.value.code) == (400, 60200)
    assert await fake_twilio.calls("verifications.create") == 1


async def test_bad_credentials_are_20003(fake_twilio: TwilioControl) -> None:
    client = fake_twilio.client(password="not-the-token")
    try:
        with pytest.raises(TwilioRestException) as caught:
            await start(client, fake_twilio)
        assert (caught.value.status, caught.value.code) == (401, 20003)
    finally:
        await client.http_client.close()
    assert (await fake_twilio.state())["verifications"] == []


async def test_api_key_credentials_work(fake_twilio: TwilioControl) -> None:
    client = fake_twilio.client(api_key=True)
    try:
        assert (await start(client, fake_twilio)).status == "pending"
    finally:
        await client.http_client.close()


@pytest.mark.parametrize(("status", "code"), [(429, 20429), (401, 20003), (403, 60410), (503, 503)])
async def test_injected_errors_reach_the_sdk_then_clear(
    twilio: Client, fake_twilio: TwilioControl, status: int, code: int
) -> None:
    await fake_twilio.fail_next("verifications.create", status=status, code=code, times=2)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as caught:
            await start(twilio, fake_twilio)
        assert (caught.value.status, caught.value.code) == (status, code)
    assert (await fake_twilio.state())["verifications"] == []
    assert (await start(twilio, fake_twilio)).status == "pending"
    assert await fake_twilio.calls("verifications.create") == 3


async def test_latency_makes_the_client_time_out(
    twilio: Client, fake_twilio: TwilioControl
) -> None:
    await fake_twilio.add_latency("verification_checks.create", seconds=30)
    await start(twilio, fake_twilio)
    code = await fake_twilio.last_code_for(PHONE)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await check(twilio, fake_twilio, code)
    # The latency applied to one call only; the verification is still pending and unchecked.
    assert (await fake_twilio.verification(PHONE))["checks"] == 0
    assert (await check(twilio, fake_twilio, code)).status == "approved"


async def test_commit_then_timeout_sends_the_code(
    twilio: Client, fake_twilio: TwilioControl
) -> None:
    await fake_twilio.commit_then_timeout("verifications.create", seconds=30)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await start(twilio, fake_twilio)
    sent = await fake_twilio.verification(PHONE)
    assert sent["status"] == "pending" and sent["sends"] == 1


async def test_disconnect_surfaces_as_a_transport_error(
    twilio: Client, fake_twilio: TwilioControl
) -> None:
    await fake_twilio.disconnect_next("verifications.create")
    with pytest.raises(aiohttp.ClientError):
        await start(twilio, fake_twilio)
    assert (await fake_twilio.state())["verifications"] == []


async def test_counters_and_reset(twilio: Client, fake_twilio: TwilioControl) -> None:
    await start(twilio, fake_twilio)
    await check(twilio, fake_twilio, "000000")
    assert await fake_twilio.call_counts() == {
        "verifications.create": 1,
        "verification_checks.create": 1,
    }
    await fake_twilio.reset()
    assert await fake_twilio.calls() == 0
    with pytest.raises(LookupError):
        await fake_twilio.last_code_for(PHONE)


async def test_fetch_service_checks_configuration(
    twilio: Client, fake_twilio: TwilioControl
) -> None:
    fetched = await service(twilio, fake_twilio).fetch_async()
    assert fetched.sid == fake_twilio.verify_service_sid and fetched.code_length == 6
    with pytest.raises(TwilioRestException) as caught:
        await service(twilio, fake_twilio, "VA" + "9" * 32).fetch_async()
    assert caught.value.code == 20404
