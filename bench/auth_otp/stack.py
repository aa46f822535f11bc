"""Starts what the benchmark needs on loopback: a scratch database, the fake Twilio, auth and
the minimal prototype of a verify's I/O (``bench.auth_otp.prototype``, same environment)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
from auth.phone_crypto import generate_key_material
from auth.signing_keys import generate_keyset_config

from tests.support.migrate import migrate_all

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BASE = "postgresql+asyncpg://postgres@127.0.0.1:5432"
ROOT = Path(__file__).resolve().parents[2]
FAKE_ACCOUNT = {
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 31 + "1",
    "TWILIO_API_KEY_SID": "SK" + "0" * 31 + "1",
    "TWILIO_API_KEY_SECRET": "local-fake-twilio-api-key-secret-1",
    "TWILIO_VERIFY_SERVICE_SID": "VA" + "0" * 31 + "1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    auth_url: str
    twilio_url: str
    auth_pid: int
    prototype_url: str
    prototype_pid: int


@contextlib.asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    name = f"nerava_bench_{int(time.time())}_{secrets.token_hex(3)}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = f"{PG_BASE}/{name}"
    try:
        await asyncio.to_thread(migrate_all, url)
        yield url
    finally:
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


@contextlib.contextmanager
def process(argv: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def wait_ready(url: str, proc: subprocess.Popen[bytes], limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"{proc.args!r} exited:\n{err[-3000:]}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url) as resp:
                    if resp.status < 500:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {limit_s}s")


def auth_env(database_url: str, twilio_url: str, port: int) -> dict[str, str]:
    keys, kid = generate_keyset_config("bench-1")
    return {
        "PATH": os.environ.get("PATH", ""),
        "ENV": "test",
        "LOG_LEVEL": "WARNING",
        "HTTP_PORT": str(port),
        "DATABASE_URL": database_url,
        "DB_POOL_SIZE": "30",
        "DB_MAX_OVERFLOW": "20",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "REDIS_KEY_PREFIX": f"bench:{secrets.token_hex(4)}",
        "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/",
        "OTP_PROVIDER": "twilio_verify",
        "TWILIO_API_BASE": twilio_url,
        **FAKE_ACCOUNT,
        "JWT_SIGNING_KEYS": keys,
        "JWT_ACTIVE_KID": kid,
        "REFRESH_TOKEN_PEPPER": secrets.token_urlsafe(48),
        "PHONE_LOOKUP_KEY": secrets.token_urlsafe(48),
        "PHONE_ENCRYPTION_KEYS": json.dumps({"b1": generate_key_material()}),
        "PHONE_ENCRYPTION_ACTIVE_KEY_ID": "b1",
        # One client IP sends everything: lift the per-IP and per-phone limits out of the way.
        "OTP_IP_START_PER_HOUR": "100000000",
        "OTP_IP_START_BURST": "100000000",
        "OTP_IP_VERIFY_PER_HOUR": "100000000",
        "OTP_IP_VERIFY_BURST": "100000000",
        "OTP_SMS_BUDGET_PER_HOUR": "100000000",
        "OTP_SMS_BUDGET_BURST": "100000000",
        "OTP_DAILY_CAP_PER_PHONE": "1000",
        "OTP_RESEND_COOLDOWNS_SECONDS": "[1]",
    }


@contextlib.asynccontextmanager
async def running_stack() -> AsyncIterator[Stack]:
    async with scratch_database() as database_url:
        twilio_port, auth_port, proto_port = free_port(), free_port(), free_port()
        twilio_url = f"http://127.0.0.1:{twilio_port}"
        base = {"PATH": os.environ.get("PATH", "")}
        twilio_argv = [sys.executable, "-m", "tests.fakes.twilio", "--port", str(twilio_port)]
        auth_argv = [
            sys.executable,
            "-m",
            "uvicorn",
            "auth.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(auth_port),
            "--workers",
            "1",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        with process(twilio_argv, base) as twilio:
            await wait_ready(f"{twilio_url}/__admin/state", twilio)
            env = auth_env(database_url, twilio_url, auth_port)
            proto_argv = [*auth_argv[:3], "bench.auth_otp.prototype:app", *auth_argv[5:]]
            proto_argv[proto_argv.index(str(auth_port))] = str(proto_port)
            with process(auth_argv, env) as auth, process(proto_argv, env) as proto:
                auth_url = f"http://127.0.0.1:{auth_port}"
                proto_url = f"http://127.0.0.1:{proto_port}"
                await wait_ready(f"{auth_url}/readyz", auth)
                await wait_ready(f"{proto_url}/healthz", proto)
                yield Stack(
                    auth_url=auth_url,
                    twilio_url=twilio_url,
                    auth_pid=auth.pid,
                    prototype_url=proto_url,
                    prototype_pid=proto.pid,
                )
