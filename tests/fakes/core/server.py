"""Serving a fake: in-process on an ephemeral port (tests) or as a process (``make run``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass

from aiohttp import web

logger = logging.getLogger(__name__)


@dataclass
class RunningFake:
    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def close(self) -> None:
        await self.runner.cleanup()


async def start(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> RunningFake:
    """Serve ``app`` on ``host:port`` (port 0: an ephemeral one); the access log stays off."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0]
    return RunningFake(runner=runner, host=host, port=int(bound[1]))


def base_parser(description: str, default_port: int) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=default_port, help="0 picks a free port (logged at start)"
    )
    return parser


async def serve_forever(app: web.Application, host: str, port: int, name: str) -> None:
    """Serve until SIGINT/SIGTERM, then stop cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    running = await start(app, host, port)
    logger.info("%s listening on %s (admin API under /__admin)", name, running.url)
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await running.close()
        logger.info("%s stopped", name)
