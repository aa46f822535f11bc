"""The fakes' admin API itself, and the fakes run as processes (as ``make run`` starts them)."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.fakes.core.control import AdminError
from tests.fakes.stripe.control import StripeControl
from tests.fakes.twilio.control import TwilioControl

PHONE = "+14155550133"


@pytest.fixture
async def twilio(fake_twilio: TwilioControl) -> AsyncIterator[Client]:
    client = fake_twilio.client()
    try:
        yield client
    finally:
        await client.http_client.close()


async def start(client: Client, fake: TwilioControl, phone: str = PHONE) -> None:
    service = client.verify.v2.services(fake.verify_service_sid)
    await service.verifications.create_async(to=phone, channel="sms")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "explode"}, "kind must be one of"),
        ({"kind": "error", "endpoint": "verifications.create"}, "integer status"),
        ({"kind": "latency", "endpoint": "verifications.create"}, "seconds > 0"),
        ({"kind": "error", "status": 500, "times": 0}, "positive integer"),
        ({"kind": "error", "status": 500, "endpoint": "verification.create"}, "unknown endpoint"),
    ],
)
async def test_bad_fault_specs_are_refused(
    fake_twilio: TwilioControl, spec: dict[str, object], message: str
) -> None:
    with pytest.raises(AdminError, match=message):
        await fake_twilio.add_fault(**spec)


async def test_fault_until_reset_on_every_endpoint(
    twilio: Client, fake_twilio: TwilioControl
) -> None:
    await fake_twilio.fail_next("*", status=503, code=503, times=None)
    for _ in range(3):
        with pytest.raises(TwilioRestException) as caught:
            await start(twilio, fake_twilio)
        assert caught.value.status == 503
    await fake_twilio.clear_faults()
    await start(twilio, fake_twilio)
    requests = await fake_twilio.requests("verifications.create")
    assert [r["status"] for r in requests] == [503, 503, 503, 201]
    assert all(r["faults"] for r in requests[:3]) and not requests[3]["faults"]


async def test_fault_matching_a_parameter(twilio: Client, fake_twilio: TwilioControl) -> None:
    await fake_twilio.fail_next("verifications.create", status=403, code=60410, match={"To": PHONE})
    await start(twilio, fake_twilio, "+14155550144")  # another number: unaffected
    with pytest.raises(TwilioRestException) as caught:
        await start(twilio, fake_twilio)
    assert caught.value.code == 60410


async def test_config_and_clock(fake_twilio: TwilioControl, fake_stripe: StripeControl) -> None:
    with pytest.raises(AdminError, match="unknown Twilio fake settings"):
        await fake_twilio.configure(no_such_setting=1)
    config = await fake_twilio.configure(code_ttl_seconds=60)
    assert config["code_ttl_seconds"] == 60
    before = await fake_stripe.advance_clock(0)
    assert await fake_stripe.advance_clock(3600) >= before + 3600
    with pytest.raises(AdminError, match="forward"):
        await fake_stripe.advance_clock(-1)


async def test_stripe_faults_on_unknown_endpoint_are_refused(fake_stripe: StripeControl) -> None:
    with pytest.raises(AdminError, match=r"transfers\.create"):
        await fake_stripe.fail_next("transfer.create", status=500)


@pytest.mark.parametrize("fake", ["twilio", "stripe"])
async def test_runs_as_a_process_and_stops_on_sigterm(fake: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        f"tests.fakes.{fake}",
        "--port",
        "0",
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        line = (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
        found = re.search(r"listening on (http://\S+)", line)
        assert found, line
        async with aiohttp.ClientSession() as session, session.get(f"{found[1]}/healthz") as resp:
            assert resp.status == 200
            assert (await resp.json())["fake"] == fake
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
