"""``POST /v1/exclusive-sessions`` through the real service (one uvicorn worker, its real
Postgres, Redis and RabbitMQ, tokens verified against a JWKS endpoint), at 1 and 50 concurrent
clients: requests/s, p50, p99. Every request is a new driver, so every answer is a 201 with a
new session, its outbox row and its offer codes.

Requests per second depend on what else the machine's cores are doing; the CPU the service's
worker spends per request (``server_cpu_ms_per_request``, from /proc: user + system, the outbox
relay publishing the activations included) does not, much. The target of 500 requests/s on one
worker is a CPU budget of about 1.6 ms per activation with the client on the other core, so
both are printed with whether they are met. ``profile`` (a path) samples the worker with py-spy
(``pip install py-spy``) during the 50-client run: raw collapsed stacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from sessions.phone_crypto import generate_key_material

from bench.jwks import free_port, jwks_server
from bench.report import emit, latency_figures
from tests.support.jwt_tokens import AUDIENCE, ISSUER, TestSigningKeys

BENCH = "sessions"
ROOT = Path(__file__).resolve().parents[2]
MERCHANTS_PER_CHARGER = 5
CHARGERS = 200
TARGET_RPS_50_CLIENTS = 500
TARGET_CPU_MS_PER_REQUEST = 1.6


async def seed(database_url: str) -> list[tuple[str, str]]:
    """Chargers across a box, each with merchants within walking distance: (merchant, charger)."""
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        pairs = await conn.fetch(
            """
            WITH c AS (
                INSERT INTO sessions.chargers (id, external_id, name, network, lat, lng)
                SELECT gen_random_uuid(), 'act-' || i, 'c', 'n', 30 + i * 0.01, -100
                FROM generate_series(1, $1::int) AS i RETURNING id, lat, lng
            ), m AS (
                INSERT INTO sessions.merchants (id, owner_user_id, name, lat, lng, phone_key_id,
                    phone_ciphertext, phone_hash, offer_title, billing_amount_minor, currency,
                    reward_nova)
                SELECT gen_random_uuid(), gen_random_uuid(), 'm', c.lat + 0.001 * j, c.lng,
                    'k1', '\\x00'::bytea, '\\x00'::bytea, 'Coffee', 250, 'USD', 10
                FROM c, generate_series(1, $2::int) AS j RETURNING id, lat, lng
            )
            SELECT m.id::text AS merchant_id, c.id::text AS charger_id
            FROM m JOIN c ON abs(m.lat - c.lat) < 0.006 AND m.lng = c.lng
            """,
            CHARGERS,
            MERCHANTS_PER_CHARGER,
        )
    finally:
        await conn.close()
    return [(r["merchant_id"], r["charger_id"]) for r in pairs]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_profiler(pid: int, path: str) -> subprocess.Popen[bytes]:
    exe = shutil.which("py-spy")
    if exe is None:
        raise SystemExit("profiling needs py-spy on PATH: pip install py-spy")
    return subprocess.Popen(
        [exe, "record", "-p", str(pid), "-o", path, "--format", "raw", "-r", "200"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@dataclasses.dataclass(frozen=True)
class Service:
    url: str
    pid: int


@contextlib.asynccontextmanager
async def service(database_url: str, rabbitmq_url: str, jwks_url: str) -> AsyncIterator[Service]:
    port = free_port()
    env = {
        **os.environ,
        "ENV": "test",
        "DATABASE_URL": database_url,
        "RABBITMQ_URL": rabbitmq_url,
        "REDIS_KEY_PREFIX": f"bench:{uuid.uuid4().hex[:8]}",
        "JWKS_URL": jwks_url,
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
        "LOG_LEVEL": "WARNING",
        "HOUSEKEEPING_ENABLED": "false",
        "DB_POOL_SIZE": "20",
        "PHONE_ENCRYPTION_KEYS": json.dumps({"k1": generate_key_material()}),
        "PHONE_ENCRYPTION_ACTIVE_KEY_ID": "k1",
        "PHONE_LOOKUP_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "uvicorn",
        "sessions.main:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(900):
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(url + "/healthz") as resp:
                        if resp.status == 200:
                            break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("the sessions service did not start")
        yield Service(url, process.pid)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=30)


async def load(
    server: Service, tokens: list[str], pairs: list[tuple[str, str]], *, clients: int
) -> dict[str, Any]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(tokens)):
        queue.put_nowait(index)
    samples: list[float] = []
    statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=clients)

    async with aiohttp.ClientSession(connector=connector) as http:

        async def client() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                merchant, charger = pairs[index % len(pairs)]
                began = time.perf_counter()
                async with http.post(
                    server.url + "/v1/exclusive-sessions",
                    json={"merchant_id": merchant, "charger_id": charger},
                    headers={"Authorization": f"Bearer {tokens[index]}"},
                ) as resp:
                    await resp.read()
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
                samples.append(time.perf_counter() - began)

        cpu_before = cpu_seconds(server.pid)
        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - began
        cpu_used = cpu_seconds(server.pid) - cpu_before
    return {
        "clients": clients,
        "requests": len(samples),
        "requests_per_s": round(len(samples) / elapsed, 1),
        "server_cpu_ms_per_request": round(cpu_used * 1000 / max(1, len(samples)), 3),
        "statuses": statuses,
        **latency_figures(samples),
    }


async def run(
    database_url: str, rabbitmq_url: str, *, profile: str | None = None
) -> list[dict[str, Any]]:
    keys = TestSigningKeys(kid="bench-sessions")
    pairs = await seed(database_url)
    lines = []
    async with (
        jwks_server(keys) as jwks_url,
        service(database_url, rabbitmq_url, jwks_url) as server,
    ):
        for clients, requests in ((1, 600), (50, 6000)):
            tokens = [keys.mint(sub=str(uuid.uuid4()), role="driver") for _ in range(requests)]
            await load(server, tokens[:100], pairs, clients=clients)  # warm-up
            profiler = start_profiler(server.pid, profile) if profile and clients > 1 else None
            figures = await load(server, tokens[100:], pairs, clients=clients)
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                profiler.wait()
            lines.append(emit(BENCH, f"activate_{clients}_clients", **figures, **targets(figures)))
        lines.append(emit(BENCH, "floor_healthz_50_clients", **await floor(server, 3000, 50)))
    return lines


async def floor(server: Service, requests: int, clients: int) -> dict[str, Any]:
    """The framework's floor on this machine now: CPU per ``GET /healthz`` (untraced, no I/O),
    to read the activation's CPU figure against."""
    remaining = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def client() -> None:
            for _ in remaining:
                async with http.get(server.url + "/healthz") as resp:
                    await resp.read()

        cpu_before = cpu_seconds(server.pid)
        await asyncio.gather(*(client() for _ in range(clients)))
        cpu_used = cpu_seconds(server.pid) - cpu_before
    return {"requests": requests, "server_cpu_ms_per_request": round(cpu_used * 1000 / requests, 3)}


def targets(figures: dict[str, Any]) -> dict[str, Any]:
    """The issue's target (50 clients) and the CPU budget that makes it reachable."""
    cpu = figures["server_cpu_ms_per_request"]
    out: dict[str, Any] = {
        "target_cpu_ms_per_request": TARGET_CPU_MS_PER_REQUEST,
        "cpu_target_met": cpu <= TARGET_CPU_MS_PER_REQUEST,
        "cpu_bound_rps": round(1000 / cpu, 1) if cpu else None,
    }
    if figures["clients"] == 50:
        out["target_rps"] = TARGET_RPS_50_CLIENTS
        out["rps_target_met"] = figures["requests_per_s"] >= TARGET_RPS_50_CLIENTS
    return out
