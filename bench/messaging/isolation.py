"""A throw-away Postgres database and RabbitMQ vhost for one benchmark run (dropped at the end)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

PG_ADMIN = os.environ.get("NERAVA_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_BASE = os.environ.get("NERAVA_BENCH_PG_BASE", "postgresql+asyncpg://postgres@127.0.0.1:5432")
RABBIT = os.environ.get("NERAVA_BENCH_RABBIT", "guest:guest@127.0.0.1:5672")


@dataclass(frozen=True)
class BenchInfra:
    database_url: str
    rabbitmq_url: str


def _rabbitmqctl(*args: str) -> None:
    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([exe, "-q", *args], check=True, capture_output=True, timeout=60)


@contextlib.asynccontextmanager
async def bench_infra() -> AsyncIterator[BenchInfra]:
    name = f"nerava_bench_{int(time.time())}_{uuid.uuid4().hex[:6]}"
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    await asyncio.to_thread(_rabbitmqctl, "add_vhost", name)
    await asyncio.to_thread(_rabbitmqctl, "set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    try:
        yield BenchInfra(f"{PG_BASE}/{name}", f"amqp://{RABBIT}/{name}")
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            await asyncio.to_thread(_rabbitmqctl, "delete_vhost", name)
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
