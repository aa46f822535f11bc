"""The CPU a process has used, from /proc: what a benchmark reports next to its rates, since the
rates depend on what else the machine's cores are doing and the CPU per message much less."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds of several processes over one measured window."""

    def __init__(self, **pids: int) -> None:
        self.pids = pids
        self.start = {name: cpu_seconds(pid) for name, pid in pids.items()}

    def ms_per(self, count: int) -> dict[str, float]:
        """``<name>_cpu_ms_per_msg`` for each process since the meter started."""
        return {
            f"{name}_cpu_ms_per_msg": round(
                (cpu_seconds(pid) - self.start[name]) * 1000 / max(1, count), 3
            )
            for name, pid in self.pids.items()
        }
