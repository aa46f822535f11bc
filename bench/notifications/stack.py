"""What the notifications benchmark runs against: a scratch database and vhost (migrated), the
fake Twilio as its own process, and the service in this process."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from bench.messaging.isolation import BenchInfra, bench_infra
from tests.fakes.twilio.config import TwilioFakeConfig
from tests.fakes.twilio.control import TwilioControl

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def migrate(database_url: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "alembic",
            "-c",
            str(ROOT / "services/notifications/alembic.ini"),
            "-x",
            f"database_url={database_url}",
            "upgrade",
            "head",
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )


@contextlib.asynccontextmanager
async def fake_twilio_process() -> AsyncIterator[TwilioControl]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.twilio",
        "--port",
        str(port),
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with aiohttp.ClientSession() as session:
            control = TwilioControl(f"http://127.0.0.1:{port}", session, TwilioFakeConfig())
            async with asyncio.timeout(30):
                while True:
                    try:
                        await control.reset()
                        break
                    except aiohttp.ClientError:
                        await asyncio.sleep(0.1)
            # Status callbacks would go to an unreachable public URL: keep them parked.
            await control.configure(callback_delay_seconds=3600)
            yield control
    finally:
        proc.terminate()
        await proc.wait()


@contextlib.asynccontextmanager
async def scratch() -> AsyncIterator[BenchInfra]:
    async with bench_infra() as infra:
        await asyncio.to_thread(migrate, infra.database_url)
        yield infra
