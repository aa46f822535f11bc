"""``uv run python -m bench.auth_otp``: OTP verify end to end at 1 and 50 concurrent clients.

One uvicorn worker serves auth; the fake Twilio runs in its own process; Redis and Postgres
are the machine's. Each measured request is a fresh challenge's correct code, so every request
does the whole sign-in: limits (Lua), the Verify check through the real Twilio SDK, the
approval, the session + refresh-token insert, and an EdDSA access token. Users exist already
(a warm-up signed them in once). Baselines in the same run: ``GET /healthz`` of the same
worker (the framework floor), the fake Twilio's own check endpoint, and the minimal prototype of
the same I/O (``prototype.py``: a Redis pipeline, one SQL read, a hash compare, an EdDSA
signature, one worker), with and without the Twilio check; the summary prints the ratio of
verify to the prototype at 50 clients (target: 0.7 or more). Only in-run ratios compare across
runs on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from bench.auth_otp.stack import FAKE_ACCOUNT, Stack, running_stack
from bench.report import emit, latency_figures, ratio

BENCH = "auth_otp"
HEADERS = {"X-Nerava-Client-Ip": "203.0.113.7"}


def phones(count: int) -> list[str]:
    return [f"+1415{n:07d}" for n in range(1_000_000, 1_000_000 + count)]


async def prepare(
    session: aiohttp.ClientSession, stack: Stack, numbers: list[str]
) -> list[tuple[str, str]]:
    """Starts a challenge for each number; returns (challenge_id, code) pairs."""
    semaphore = asyncio.Semaphore(20)
    challenges: dict[str, str] = {}

    async def start(phone: str) -> None:
        async with (
            semaphore,
            session.post(
                f"{stack.auth_url}/v1/auth/otp/start", json={"phone": phone}, headers=HEADERS
            ) as resp,
        ):
            body = await resp.json()
            if resp.status != 202:
                raise RuntimeError(f"start answered {resp.status}: {body}")
            challenges[phone] = body["challenge_id"]

    await asyncio.gather(*(start(p) for p in numbers))
    async with session.get(f"{stack.twilio_url}/__admin/state") as resp:
        state = await resp.json()
    codes = {v["to"]: v["code"] for v in state["verifications"] if v["status"] == "pending"}
    return [(challenges[p], codes[p]) for p in numbers]


async def closed_loop(
    concurrency: int, requests: int, call: Callable[[int], Awaitable[int]]
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[int, int] = {}
    counter = iter(range(requests))

    async def worker() -> None:
        for index in counter:
            started = time.perf_counter()
            status = await call(index)
            latencies.append(time.perf_counter() - started)
            if status >= 400:
                errors[status] = errors.get(status, 0) + 1

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    return {
        "concurrency": concurrency,
        "requests": requests,
        "rps": round(requests / elapsed, 1),
        **latency_figures(latencies),
        "errors": errors,
    }


async def verify_scenario(
    session: aiohttp.ClientSession,
    stack: Stack,
    numbers: list[str],
    concurrency: int,
    profile_path: str | None = None,
) -> dict[str, Any]:
    # Challenges are started before the measured (and profiled) window.
    pairs = await prepare(session, stack, numbers)
    url = f"{stack.auth_url}/v1/auth/otp/verify"
    profiler = profile(stack.auth_pid, profile_path) if profile_path else None
    cpu_before = cpu_seconds(stack.auth_pid)

    async def call(index: int) -> int:
        challenge_id, code = pairs[index]
        body = {"challenge_id": challenge_id, "code": code}
        async with session.post(url, json=body, headers=HEADERS) as resp:
            await resp.read()
            return resp.status

    figures = await closed_loop(concurrency, len(pairs), call)
    cpu_ms = (cpu_seconds(stack.auth_pid) - cpu_before) * 1000 / len(pairs)
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait()
    # CPU the auth worker spent per verify: 1000 / this is its one-core ceiling in req/s,
    # whatever else the machine's cores were busy with.
    figures["server_cpu_ms_per_request"] = round(cpu_ms, 3)
    figures["one_core_ceiling_rps"] = round(1000 / cpu_ms, 1) if cpu_ms else None
    return figures


async def prototype_scenario(
    session: aiohttp.ClientSession,
    stack: Stack,
    numbers: list[str],
    concurrency: int,
    *,
    twilio: bool,
) -> dict[str, Any]:
    """The prototype's verify of fresh challenges (started through auth, as for verify)."""
    pairs = await prepare(session, stack, numbers) if twilio else []
    codes = {p: c for p, (_, c) in zip(numbers, pairs, strict=True)} if twilio else {}
    url = f"{stack.prototype_url}/verify" + ("?twilio=1" if twilio else "")
    cpu_before = cpu_seconds(stack.prototype_pid)

    async def call(index: int) -> int:
        phone = numbers[index]
        body = {"phone": phone, "code": codes.get(phone, "000000")}
        async with session.post(url, json=body) as resp:
            await resp.read()
            return resp.status

    figures = await closed_loop(concurrency, len(numbers), call)
    cpu_ms = (cpu_seconds(stack.prototype_pid) - cpu_before) * 1000 / len(numbers)
    figures["server_cpu_ms_per_request"] = round(cpu_ms, 3)
    return figures


async def get_scenario(
    session: aiohttp.ClientSession,
    url: str,
    concurrency: int,
    requests: int,
    pid: int | None = None,
    **kw: Any,
) -> dict[str, Any]:
    async def call(_: int) -> int:
        async with session.request(kw.get("method", "GET"), url, **kw.get("options", {})) as resp:
            await resp.read()
            return resp.status

    cpu_before = cpu_seconds(pid) if pid else 0.0
    figures = await closed_loop(concurrency, requests, call)
    if pid:
        cpu_ms = (cpu_seconds(pid) - cpu_before) * 1000 / requests
        figures["server_cpu_ms_per_request"] = round(cpu_ms, 3)
    return figures


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def profile(pid: int, path: str) -> subprocess.Popen[bytes]:
    """py-spy samples the auth worker during the c=50 run (collapsed stacks in ``path``)."""
    exe = shutil.which("py-spy")
    if exe is None:
        raise SystemExit("--profile needs py-spy: uv pip install py-spy")
    return subprocess.Popen(
        [exe, "record", "-p", str(pid), "-o", path, "--format", "raw", "-r", "200"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def main(args: argparse.Namespace) -> None:
    connector = aiohttp.TCPConnector(limit=100)
    async with running_stack() as stack, aiohttp.ClientSession(connector=connector) as session:
        users = phones(args.requests)
        # Warm-up: every number signs in once (registers the user, warms pools and caches).
        await verify_scenario(session, stack, users, 20)
        await asyncio.sleep(1.1)  # the resend cooldown of the bench settings (1 s)

        c1 = await verify_scenario(session, stack, users[: args.single], 1)
        emit(BENCH, "verify_existing_user_c1", **c1)
        await asyncio.sleep(1.1)
        c50 = await verify_scenario(session, stack, users, 50, args.profile)
        emit(BENCH, "verify_existing_user_c50", **c50)

        await asyncio.sleep(1.1)
        proto = await prototype_scenario(session, stack, users, 50, twilio=True)
        emit(BENCH, "prototype_same_io_c50", **proto)
        bare = await prototype_scenario(session, stack, users, 50, twilio=False)
        emit(BENCH, "prototype_without_twilio_c50", **bare)

        health = f"{stack.auth_url}/healthz"
        base1 = await get_scenario(session, health, 1, args.single)
        emit(BENCH, "baseline_healthz_c1", **base1)
        base50 = await get_scenario(session, health, 50, args.requests, stack.auth_pid)
        emit(BENCH, "baseline_healthz_c50", **base50)
        # A traced API route with no I/O: the framework + middleware + telemetry floor.
        jwks = f"{stack.auth_url}/v1/auth/jwks.json"
        floor = await get_scenario(session, jwks, 50, args.requests, stack.auth_pid)
        emit(BENCH, "baseline_jwks_c50", **floor)
        check = (
            f"{stack.twilio_url}/verify/v2/Services/{FAKE_ACCOUNT['TWILIO_VERIFY_SERVICE_SID']}"
            "/VerificationCheck"
        )
        basic = aiohttp.encode_basic_auth(
            FAKE_ACCOUNT["TWILIO_API_KEY_SID"], FAKE_ACCOUNT["TWILIO_API_KEY_SECRET"]
        )
        fake = await get_scenario(
            session,
            check,
            50,
            args.requests,
            method="POST",
            options={
                "data": {"To": "+14150000000", "Code": "123456"},
                "headers": {"Authorization": basic},
            },
        )
        emit(BENCH, "baseline_fake_twilio_check_c50", **fake)
        emit(
            BENCH,
            "summary",
            verify_rps_c50=c50["rps"],
            verify_p50_ms_c1=c1["p50_ms"],
            verify_vs_healthz_c50=ratio(c50["rps"], base50["rps"]),
            verify_vs_prototype_c50=ratio(c50["rps"], proto["rps"]),
            verify_vs_prototype_without_twilio_c50=ratio(c50["rps"], bare["rps"]),
            prototype_target_ratio=0.7,
            prototype_target_met=ratio(c50["rps"], proto["rps"]) >= 0.7,
            target_rps_c50=600,
            target_p50_ms_c1=3.0,
            rps_target_met=c50["rps"] >= 600,
            p50_target_met=c1["p50_ms"] <= 3.0,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=4000, help="verifies at c=50")
    parser.add_argument("--single", type=int, default=1000, help="verifies at c=1")
    parser.add_argument("--profile", help="write py-spy collapsed stacks of the c=50 run here")
    asyncio.run(main(parser.parse_args()))
