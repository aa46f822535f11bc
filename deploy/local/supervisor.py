"""Starts a set of processes, waits until each answers ``/healthz``, and stops them all.

Stopping sends SIGTERM to each process group, then SIGKILL after a grace period, so nothing is
left behind. Used by ``make run`` and by the end-to-end and chaos tests (which also crash and
restart one process at a time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from deploy.local.environment import FAKES, HOST, SERVICES, fake_arguments, process_env

ROOT = Path(__file__).resolve().parents[2]
GRACE_SECONDS = 10.0
logger = logging.getLogger("stack")


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    process: asyncio.subprocess.Process | None = field(default=None)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


class StartupError(RuntimeError):
    """A process exited or did not become healthy in time."""


def stack_children(
    ports: Mapping[str, int],
    infrastructure: Mapping[str, str],
    *,
    names: Sequence[str] = (*FAKES, *SERVICES),
    otp_provider: str | None = None,
) -> list[Child]:
    py = sys.executable
    children: list[Child] = []
    for name in names:
        if name in FAKES:
            module = "tests.fakes." + name.removeprefix("fake-")
            argv = [py, "-m", module, "--port", str(ports[name]), *fake_arguments(name, ports)]
        else:
            argv = [
                py,
                "-m",
                "uvicorn",
                f"{name}.main:create_app",
                "--factory",
                "--host",
                HOST,
                "--port",
                str(ports[name]),
                "--no-access-log",
            ]
            if name == "gateway":
                # The gateway alone decides which client address to believe (TRUSTED_PROXIES).
                argv += ["--no-proxy-headers", "--no-server-header"]
                argv += ["--http", "gateway.http_protocol:GatewayHttpProtocol"]
        env = {**os.environ, **process_env(name, ports, infrastructure, otp_provider)}
        children.append(Child(name=name, argv=argv, env=env, port=ports[name]))
    return children


class Supervisor:
    def __init__(self, children: Sequence[Child], *, log_dir: Path | None = None) -> None:
        self.children = list(children)
        self.log_dir = log_dir

    async def start(self, *, startup_s: float = 60.0) -> None:
        for child in self.children:
            child.process = await self._spawn(child)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + startup_s
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(self._wait_healthy(c, session, deadline) for c in self.children))

    async def _spawn(self, child: Child) -> asyncio.subprocess.Process:
        if self.log_dir is None:
            return await asyncio.create_subprocess_exec(
                *child.argv, cwd=ROOT, env=child.env, start_new_session=True
            )
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{child.name}.log").open("ab") as output:  # a restart appends
            return await asyncio.create_subprocess_exec(
                *child.argv,
                cwd=ROOT,
                env=child.env,
                start_new_session=True,
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
            )

    async def _wait_healthy(
        self, child: Child, session: aiohttp.ClientSession, deadline: float
    ) -> None:
        loop = asyncio.get_running_loop()
        health = child.url + "/healthz"
        while loop.time() < deadline:
            assert child.process is not None
            if child.process.returncode is not None:
                raise StartupError(f"{child.name} exited with {child.process.returncode}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(health, timeout=aiohttp.ClientTimeout(total=1)) as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.2)
        raise StartupError(f"{child.name} did not answer {health} in time")

    def child(self, name: str) -> Child:
        return next(c for c in self.children if c.name == name)

    async def crash_and_restart(self, name: str, *, startup_s: float = 60.0) -> None:
        """Kills one process as a crash would (SIGKILL to its group: no shutdown of any kind),
        starts it again and waits until it answers ``/healthz`` (the chaos tests)."""
        child = self.child(name)
        assert child.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.process.pid, signal.SIGKILL)
        await child.process.wait()
        child.process = await self._spawn(child)
        deadline = asyncio.get_running_loop().time() + startup_s
        async with aiohttp.ClientSession() as session:
            await self._wait_healthy(child, session, deadline)

    async def wait_any_exit(self) -> Child:
        waits = {asyncio.create_task(c.process.wait()): c for c in self.children if c.process}
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return waits[next(iter(done))]

    async def stop(self) -> None:
        running = [c for c in self.children if c.process and c.process.returncode is None]
        for child in running:
            assert child.process is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGTERM)
        for child in running:
            assert child.process is not None
            try:
                await asyncio.wait_for(child.process.wait(), GRACE_SECONDS)
            except TimeoutError:
                logger.warning("%s did not stop in %ss; killing it", child.name, GRACE_SECONDS)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGKILL)
                await child.process.wait()
