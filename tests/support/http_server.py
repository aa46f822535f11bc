"""Serves an ASGI app over real HTTP on an ephemeral 127.0.0.1 port (uvicorn, in this loop).

``async with serve(app) as server:`` -> ``server.url``; leaving the block shuts it down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import uvicorn

from tests.support.polling import eventually


@dataclass
class Running:
    server: uvicorn.Server
    task: asyncio.Task[None]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def serve(
    app: Any, *, http: Any = "auto", lifespan: Literal["auto", "on", "off"] = "auto"
) -> AsyncIterator[Running]:
    """``http``: uvicorn's protocol (a name or class); ``lifespan``: "auto", "on" or "off"."""
    config = uvicorn.Config(
        app,
        http=http,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        lifespan=lifespan,
    )
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())

    def started() -> bool:
        if task.done():
            task.result()
            raise RuntimeError("server exited during startup")
        return bool(server.started)

    try:
        # uvicorn exposes a flag, not an event
        await eventually(started, what="uvicorn to listen", timeout=30, interval=0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield Running(server, task, port)
    finally:
        server.should_exit = True
        await task
