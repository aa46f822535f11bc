"""The whole system as real processes (``deploy.local.supervisor``): what the e2e ``stack``
fixture (``tests/e2e/conftest.py``) yields, and free ports to run it on."""

from __future__ import annotations

import asyncio
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from deploy.local.supervisor import Supervisor


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for a child process that needs a fixed one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class RunningStack:
    supervisor: Supervisor
    ports: dict[str, int]
    log_dir: Path

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def gateway(self) -> str:
        return self.url("gateway")

    async def manage(self, service: str, *args: str) -> str:
        """Runs ``python -m <service>.manage ARGS`` with that process's environment, as an
        operator would next to it; returns its output, failing the test on a non-zero exit."""
        child = next(c for c in self.supervisor.children if c.name == service)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            f"{service}.manage",
            *args,
            env=child.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        text = output.decode(errors="replace")
        assert process.returncode == 0, f"{service}.manage {' '.join(args)}: {text}"
        return text
