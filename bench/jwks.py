"""What the service benchmarks share: a free loopback port, and the JWKS endpoint a service
verifies the benchmark's tokens against, served from the benchmark's own process."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator

from aiohttp import web

from tests.support.jwt_tokens import TestSigningKeys


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def jwks_server(keys: TestSigningKeys) -> AsyncIterator[str]:
    """Serves ``keys``' JWKS; yields its URL."""
    app = web.Application()

    async def jwks(_: web.Request) -> web.Response:
        return web.json_response(keys.jwks())

    app.router.add_get("/jwks.json", jwks)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/jwks.json"
    finally:
        await runner.cleanup()
