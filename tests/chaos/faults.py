"""The faults the chaos suite injects into a running stack, each recorded as it happens.

- a service process killed with SIGKILL (no shutdown of any kind) and started again;
- every Postgres connection of one service terminated (its pools must notice and reconnect);
- the machine's RabbitMQ broker restarted (``rabbitmqctl stop_app`` / ``start_app``: every
  connection and channel drops, queues recover from disk); ``broker_restored`` brings it back
  whatever happened, so a failing test never leaves the machine without a broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url

from tests.support.system_stack import RunningStack

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
RABBITMQ_PORT = 5672


@dataclass
class FaultLog:
    injected: list[str] = field(default_factory=list)
    started_at: float = field(default_factory=time.monotonic)

    def record(self, what: str) -> None:
        self.injected.append(f"+{time.monotonic() - self.started_at:.1f}s {what}")


async def crash_and_restart(stack: RunningStack, service: str, log: FaultLog) -> None:
    log.record(f"kill -9 {service}")
    await stack.supervisor.crash_and_restart(service)
    log.record(f"{service} healthy again")


async def terminate_connections(
    stack: RunningStack, schema: str, log: FaultLog, *, within_s: float = 15.0
) -> int:
    """Terminates every backend of one service (``application_name`` ``nerava-<schema>``). When
    the service holds none at that moment (it is itself restarting after a kill), tries again
    until it does, for up to ``within_s`` seconds, so the fault really hits its pools."""
    database = make_url(stack.database_url).database
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    deadline = time.monotonic() + within_s
    try:
        while True:
            killed = int(
                await admin.fetchval(
                    "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
                    " WHERE datname = $1 AND application_name = $2",
                    database,
                    f"nerava-{schema}",
                )
            )
            if killed or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.25)
    finally:
        await admin.close()
    log.record(f"terminated {killed} Postgres connections of {schema}")
    return killed


async def _rabbitmqctl(*args: str) -> None:
    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    process = await asyncio.create_subprocess_exec(
        exe, "-q", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {output.decode(errors='replace')}")


async def broker_answers() -> bool:
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", RABBITMQ_PORT), timeout=2
        )
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def restart_broker(log: FaultLog) -> None:
    log.record("RabbitMQ stop_app")
    await _rabbitmqctl("stop_app")
    await asyncio.sleep(2)  # the broker stays away long enough for every client to notice
    await _rabbitmqctl("start_app")
    await _rabbitmqctl("await_startup")
    log.record("RabbitMQ started again")


@contextlib.asynccontextmanager
async def broker_restored() -> AsyncIterator[None]:
    """Whatever happens inside, RabbitMQ answers again afterwards."""
    try:
        yield
    finally:
        if not await broker_answers():
            await _rabbitmqctl("start_app")
            await _rabbitmqctl("await_startup")


async def scrape_counter(http: aiohttp.ClientSession, url: str, name: str) -> dict[str, float]:
    """The samples of one Prometheus counter at ``url``/metrics, by label set (as text)."""
    async with http.get(url + "/metrics") as resp:
        text = await resp.text()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, _, value = line.partition("} ")
            samples[labels + "}"] = float(value)
    return samples
