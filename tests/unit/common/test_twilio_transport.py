"""The twilio SDK transport: URL re-basing onto a local stand-in, timeout, validation."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web
from common.twilio_transport import TwilioTransport, rebase_twilio_url, twilio_http_client


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        (
            "https://verify.twilio.com/v2/Services/VA1/Verifications",
            "http://127.0.0.1:8010",
            "http://127.0.0.1:8010/verify/v2/Services/VA1/Verifications",
        ),
        (
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?PageSize=5",
            "http://127.0.0.1:8010/",
            "http://127.0.0.1:8010/api/2010-04-01/Accounts/AC1/Messages.json?PageSize=5",
        ),
        (
            "https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/AC1/Messages/SM1.json",
            "http://fake:9/twilio",
            "http://fake:9/twilio/api/2010-04-01/Accounts/AC1/Messages/SM1.json",
        ),
    ],
)
def test_rebase_keeps_product_path_and_query(url: str, base: str, expected: str) -> None:
    assert rebase_twilio_url(url, base) == expected


@pytest.mark.parametrize("base", ["127.0.0.1:8010", "ftp://x", ""])
async def test_bad_base_is_refused(base: str) -> None:
    with pytest.raises(ValueError, match="TWILIO_API_BASE"):
        rebase_twilio_url("https://api.twilio.com/x", base)
    if base:
        with pytest.raises(ValueError, match="TWILIO_API_BASE"):
            TwilioTransport(base)


async def test_without_base_urls_are_untouched() -> None:
    client = twilio_http_client(None)
    try:
        assert client.resolve("https://api.twilio.com/x") == "https://api.twilio.com/x"
    finally:
        await client.close()


async def test_constructor_timeout_applies_to_calls() -> None:
    release = asyncio.Event()
    reached: list[str] = []

    async def slow(request: web.Request) -> web.Response:
        reached.append(f"{request.host}{request.path}")
        await release.wait()
        return web.Response(text="{}")

    app = web.Application()
    app.router.add_post("/api/2010-04-01/slow", slow)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    client = twilio_http_client(f"http://127.0.0.1:{port}", timeout=0.2)
    try:
        with pytest.raises(TimeoutError):
            await client.request("POST", "https://api.twilio.com/2010-04-01/slow", auth=("a", "b"))
        assert reached == [f"127.0.0.1:{port}/api/2010-04-01/slow"]  # re-based onto the server
    finally:
        release.set()
        await client.close()
        await runner.cleanup()


async def test_transport_errors_are_not_wrapped() -> None:
    client = twilio_http_client("http://127.0.0.1:9")
    try:
        with pytest.raises(aiohttp.ClientConnectionError):
            await client.request("GET", "https://api.twilio.com/x")
    finally:
        await client.close()
