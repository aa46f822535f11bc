"""Gives each test run its own Postgres database, RabbitMQ vhost and Redis key prefix.

Names carry the creation time, so a later run sweeps what a crashed run left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass

import asyncpg
from redis.asyncio import Redis

PG_ADMIN_DSN = os.environ.get(
    "NERAVA_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PG_HOST_DSN = os.environ.get("NERAVA_TEST_PG_BASE", "postgresql+asyncpg://postgres@127.0.0.1:5432")
RABBIT_HOST = os.environ.get("NERAVA_TEST_RABBIT", "guest:guest@127.0.0.1:5672")
REDIS_URL = os.environ.get("NERAVA_TEST_REDIS", "redis://127.0.0.1:6379/0")
STALE_AFTER_S = 6 * 3600
PREFIX = "nerava_test_"


@dataclass(frozen=True)
class RunInfra:
    run_id: str
    database: str
    database_url: str
    vhost: str
    rabbitmq_url: str
    redis_url: str
    redis_prefix: str

    def env(self) -> dict[str, str]:
        """Environment for a service process started by a test."""
        return {
            "ENV": "test",
            "DATABASE_URL": self.database_url,
            "RABBITMQ_URL": self.rabbitmq_url,
            "REDIS_URL": self.redis_url,
            "REDIS_KEY_PREFIX": self.redis_prefix,
            "LOG_JSON": "true",
        }


def new_run_id() -> str:
    return f"{int(time.time())}_{uuid.uuid4().hex[:8]}"


def _created_at(name: str) -> int | None:
    try:
        return int(name.removeprefix(PREFIX).split("_", 1)[0])
    except ValueError:
        return None


def _rabbitmqctl(*args: str) -> str:
    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    done = subprocess.run(
        [exe, "-q", *args], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


async def create(run_id: str) -> RunInfra:
    database = f"{PREFIX}{run_id}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    vhost = f"{PREFIX}{run_id}"
    await asyncio.to_thread(_rabbitmqctl, "add_vhost", vhost)
    await asyncio.to_thread(_rabbitmqctl, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    return RunInfra(
        run_id=run_id,
        database=database,
        database_url=f"{PG_HOST_DSN}/{database}",
        vhost=vhost,
        rabbitmq_url=f"amqp://{RABBIT_HOST}/{vhost}",
        redis_url=REDIS_URL,
        redis_prefix=f"test:{run_id}",
    )


async def drop(infra: RunInfra) -> None:
    await _drop_database(infra.database)
    with contextlib.suppress(RuntimeError):
        await asyncio.to_thread(_rabbitmqctl, "delete_vhost", infra.vhost)
    redis = Redis.from_url(infra.redis_url)
    try:
        async for key in redis.scan_iter(match=f"{infra.redis_prefix}:*", count=500):
            await redis.delete(key)
    finally:
        await redis.aclose()


async def _drop_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def sweep_stale() -> None:
    """Drops databases and vhosts of earlier runs older than six hours."""
    now = time.time()
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        rows = await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", PREFIX + "%"
        )
    finally:
        await conn.close()
    for row in rows:
        created = _created_at(row["datname"])
        if created is not None and now - created > STALE_AFTER_S:
            await _drop_database(row["datname"])
    vhosts = (await asyncio.to_thread(_rabbitmqctl, "list_vhosts", "name")).split()
    for vhost in vhosts:
        created = _created_at(vhost) if vhost.startswith(PREFIX) else None
        if created is not None and now - created > STALE_AFTER_S:
            with contextlib.suppress(RuntimeError):
                await asyncio.to_thread(_rabbitmqctl, "delete_vhost", vhost)
