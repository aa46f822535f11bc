"""What the notifications benchmark runs against: a scratch database and vhost (migrated), the
fake Twilio as its own process, and the service as its own process (uvicorn, one worker), so
the CPU each of them spends per message can be read from /proc (``bench.proc``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.messaging.isolation import BenchInfra, bench_infra
from tests.fakes.twilio.config import TwilioFakeConfig
from tests.fakes.twilio.control import TwilioControl

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class FakeTwilio:
    control: TwilioControl
    pid: int


@dataclass(frozen=True)
class Service:
    url: str
    pid: int


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
async def fake_twilio_process() -> AsyncIterator[FakeTwilio]:
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
            yield FakeTwilio(control, proc.pid)
    finally:
        proc.terminate()
        await proc.wait()


def service_env(infra: BenchInfra, fake: TwilioControl, **settings: object) -> dict[str, str]:
    """The service's environment: the scratch infrastructure, the fake Twilio, ``settings``
    (lists and mappings as JSON, as the settings read them)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "ENV": "test",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": infra.database_url,
        "RABBITMQ_URL": infra.rabbitmq_url,
        "SMS_SENDER": "twilio",
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_MESSAGING_SERVICE_SID": fake.config.messaging_service_sid,
        "TWILIO_API_BASE": fake.url,
        "PUBLIC_BASE_URL": "http://127.0.0.1:9",
    }
    # To compare with an earlier revision: its libs/ and services/ paths, ahead of this tree's.
    if os.environ.get("NERAVA_BENCH_SERVICE_PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["NERAVA_BENCH_SERVICE_PYTHONPATH"]
    for name, value in settings.items():
        env[name.upper()] = value if isinstance(value, str) else json.dumps(value)
    return env


async def _ready(url: str, proc: asyncio.subprocess.Process, limit_s: float = 90) -> None:
    async with aiohttp.ClientSession() as session, asyncio.timeout(limit_s):
        while True:
            if proc.returncode is not None:
                raise RuntimeError(f"the service exited with {proc.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{url}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def service_process(env: Mapping[str, str]) -> AsyncIterator[Service]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "uvicorn",
        "notifications.main:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        cwd=ROOT,
        env={**env, "HTTP_PORT": str(port)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        await _ready(url, proc)
        yield Service(url, proc.pid)
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


@contextlib.asynccontextmanager
async def scratch() -> AsyncIterator[BenchInfra]:
    async with bench_infra() as infra:
        await asyncio.to_thread(migrate, infra.database_url)
        yield infra
