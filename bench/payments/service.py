"""The payments service as the benchmarks run it: one uvicorn worker in its own process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[2]


def start_service(
    infra: Any, jwks_url: str, port: int, settings: Mapping[str, str]
) -> subprocess.Popen[bytes]:
    """Starts payments on ``port`` against ``infra``; ``settings`` add to (or override) the
    benchmark's common ones (Stripe's, above all)."""
    env = {
        **os.environ,
        "ENV": "test",
        "DATABASE_URL": infra.database_url,
        "RABBITMQ_URL": infra.rabbitmq_url,
        "REDIS_KEY_PREFIX": f"bench:{uuid.uuid4().hex[:6]}",
        "JWKS_URL": jwks_url,
        "LOG_LEVEL": "WARNING",
        "DB_POOL_SIZE": "40",
        "DB_MAX_OVERFLOW": "10",
        "KILL_SWITCH_CACHE_SECONDS": "2",
        **settings,
    }
    command = [sys.executable, "-m", "uvicorn", "payments.main:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    return subprocess.Popen([*command, "--log-level", "warning"], env=env, cwd=ROOT)


async def wait_ready(session: aiohttp.ClientSession, base: str) -> None:
    async with asyncio.timeout(60):
        while True:
            try:
                async with session.get(f"{base}/readyz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
