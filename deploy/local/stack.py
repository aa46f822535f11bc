"""Starts the fakes and the five services on fixed local ports and supervises them.

Prints what listens where once every process answers ``/healthz``. Ctrl-C or SIGTERM stops
every child (SIGTERM, then SIGKILL after a grace period) and leaves no process behind. If a child
dies, the whole stack stops with its exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from deploy.local.environment import HOST, PORTS, service_env

ROOT = Path(__file__).resolve().parents[2]
GRACE_SECONDS = 10.0
logger = logging.getLogger("stack")


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    process: asyncio.subprocess.Process | None = field(default=None)


def children() -> list[Child]:
    py = sys.executable
    fakes = [
        Child(
            "fake-twilio",
            [py, "-m", "tests.fakes.twilio", "--port", str(PORTS["fake-twilio"])],
            service_env("auth"),
        ),
        Child(
            "fake-stripe",
            [py, "-m", "tests.fakes.stripe", "--port", str(PORTS["fake-stripe"])],
            service_env("payments"),
        ),
    ]
    services = [
        Child(
            name,
            [
                py,
                "-m",
                "uvicorn",
                f"{name}.main:create_app",
                "--factory",
                "--host",
                HOST,
                "--port",
                str(PORTS[name]),
                "--no-access-log",
            ],
            service_env(name),
        )
        for name in ("auth", "sessions", "notifications", "payments", "gateway")
    ]
    return fakes + services


async def wait_healthy(child: Child, session: aiohttp.ClientSession, deadline: float) -> None:
    url = f"http://{HOST}:{PORTS[child.name]}/healthz"
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        assert child.process is not None
        if child.process.returncode is not None:
            raise RuntimeError(f"{child.name} exited with {child.process.returncode}")
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=1)) as resp:
                if resp.status == 200:
                    return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{child.name} did not answer {url} in time")


async def stop_all(procs: list[Child]) -> None:
    running = [c for c in procs if c.process and c.process.returncode is None]
    for child in running:
        assert child.process is not None
        with contextlib.suppress(ProcessLookupError):
            child.process.send_signal(signal.SIGTERM)
    for child in running:
        assert child.process is not None
        try:
            await asyncio.wait_for(child.process.wait(), GRACE_SECONDS)
        except TimeoutError:
            logger.warning("%s did not stop in %ss; killing it", child.name, GRACE_SECONDS)
            with contextlib.suppress(ProcessLookupError):
                child.process.kill()
            await child.process.wait()


async def run() -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    procs = children()
    exit_code = 0
    try:
        for child in procs:
            child.process = await asyncio.create_subprocess_exec(
                *child.argv, cwd=ROOT, env=child.env, start_new_session=True
            )
        async with aiohttp.ClientSession() as session:
            deadline = loop.time() + 60
            await asyncio.gather(*(wait_healthy(c, session, deadline) for c in procs))
        logger.info("the Nerava stack is up:")
        for child in procs:
            logger.info("  %-14s http://%s:%d", child.name, HOST, PORTS[child.name])
        logger.info(
            "gateway (the public entrypoint): http://%s:%d  — Ctrl-C stops everything",
            HOST,
            PORTS["gateway"],
        )
        waits = [asyncio.create_task(c.process.wait()) for c in procs if c.process]
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([*waits, stopper], return_when=asyncio.FIRST_COMPLETED)
        if stopper not in done:
            dead = [c for c in procs if c.process and c.process.returncode is not None]
            for child in dead:
                logger.error(
                    "%s exited with %s; stopping the stack",
                    child.name,
                    child.process.returncode if child.process else "?",
                )
            exit_code = 1
        stopper.cancel()
        for task in waits:
            task.cancel()
    except RuntimeError as exc:
        logger.error("%s", exc)
        exit_code = 1
    finally:
        await stop_all(procs)
        logger.info("stopped")
    return exit_code


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="stack: %(message)s")
    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
