"""A tiny aiohttp server that records the webhooks a fake POSTs to it (tests only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from multidict import CIMultiDict


@dataclass
class Received:
    path: str
    headers: CIMultiDict[str]
    body: bytes
    form: dict[str, str]


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    answer_status: int = 200

    def at(self, path: str) -> str:
        return f"{self.url}{path}"


@asynccontextmanager
async def webhook_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver(url="")

    async def record(request: web.Request) -> web.Response:
        body = await request.read()
        form = {}
        if request.content_type == "application/x-www-form-urlencoded":
            form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        receiver.received.append(Received(request.path, CIMultiDict(request.headers), body, form))
        return web.Response(status=receiver.answer_status, text="<Response/>")

    app = web.Application()
    app.router.add_post("/{tail:.*}", record)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield receiver
    finally:
        await runner.cleanup()
