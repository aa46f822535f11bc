"""The CPU a server process spends per request, from /proc: robust to a busy machine.

Requests per second depend on what else the machine's cores are doing; the CPU time the
service's worker spends per request does not (much). ``profiled`` samples the worker with
py-spy (``uv pip install py-spy``) while a block runs (raw collapsed stacks).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def profiled(pid: int, path: str | None) -> Iterator[None]:
    """py-spy records ``pid`` into ``path`` while the block runs (nothing when ``path`` is None)."""
    if path is None:
        yield
        return
    exe = shutil.which("py-spy")
    if exe is None:
        raise SystemExit("--profile needs py-spy: uv pip install py-spy")
    recorder = subprocess.Popen(
        [exe, "record", "-p", str(pid), "-o", path, "--format", "raw", "-r", "200"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=60)
