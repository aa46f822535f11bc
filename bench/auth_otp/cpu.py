"""``uv run python -m bench.auth_otp.cpu``: server CPU per OTP verify, robust to a busy machine.

Requests per second depend on what else the machine's cores are doing; the CPU time the auth
worker spends per request does not (much). This scenario starts the same stack as
``bench.auth_otp``, signs every bench user in once (warm-up), prepares fresh challenges
*before* the measured window, then sends ``--requests`` verifies at ``--concurrency`` and reports
the auth worker's CPU µs per verify (from /proc), next to the framework floors of the same
worker (``/healthz``: untraced; ``/v1/auth/jwks.json``: a traced API route with no I/O).

``--profile PATH`` samples the worker with py-spy (``uv pip install py-spy``) during the
measured verifies only (raw collapsed stacks).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from pathlib import Path

import aiohttp

from bench.auth_otp.__main__ import (
    BENCH,
    HEADERS,
    cpu_seconds,
    get_scenario,
    phones,
    prepare,
    profile,
    verify_scenario,
)
from bench.auth_otp.stack import running_stack
from bench.report import emit


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds a process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


async def main(args: argparse.Namespace) -> None:
    connector = aiohttp.TCPConnector(limit=100)
    async with running_stack() as stack, aiohttp.ClientSession(connector=connector) as session:
        users = phones(args.requests)
        await verify_scenario(session, stack, users, 20)  # registers every user, warms pools
        await asyncio.sleep(1.1)  # the resend cooldown of the bench settings (1 s)

        pairs = await prepare(session, stack, users)
        url = f"{stack.auth_url}/v1/auth/otp/verify"
        statuses: dict[int, int] = {}
        queue = iter(pairs)

        async def worker() -> None:
            for challenge_id, code in queue:
                body = {"challenge_id": challenge_id, "code": code}
                async with session.post(url, json=body, headers=HEADERS) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1

        profiler = profile(stack.auth_pid, args.profile) if args.profile else None
        before = cpu_seconds(stack.auth_pid)
        user0, sys0 = cpu_split(stack.auth_pid)
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        used = cpu_seconds(stack.auth_pid) - before
        user1, sys1 = cpu_split(stack.auth_pid)
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait()
        emit(
            BENCH,
            "verify_cpu",
            concurrency=args.concurrency,
            requests=len(pairs),
            statuses=statuses,
            server_cpu_us_per_request=round(used * 1e6 / len(pairs), 1),
            user_us=round((user1 - user0) * 1e6 / len(pairs), 1),
            system_us=round((sys1 - sys0) * 1e6 / len(pairs), 1),
        )
        for name, path in (("healthz", "/healthz"), ("jwks", "/v1/auth/jwks.json")):
            floor = await get_scenario(
                session, f"{stack.auth_url}{path}", args.concurrency, args.requests, stack.auth_pid
            )
            emit(
                BENCH,
                f"floor_{name}_cpu",
                server_cpu_us_per_request=round(floor["server_cpu_ms_per_request"] * 1000, 1),
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--profile", help="write py-spy collapsed stacks of the verifies here")
    asyncio.run(main(parser.parse_args()))
