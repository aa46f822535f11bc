"""The CPU a process has used, from /proc: what a benchmark reports next to its rates, since the
rates depend on what else the machine's cores are doing and the CPU per message much less."""

from __future__ import annotations

import os
from pathlib import Path

# The servers the stack runs on, by the command name /proc gives their processes.
SERVERS = {"postgres": "postgres", "beam.smp": "rabbitmq", "redis-server": "redis"}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_processes() -> dict[int, tuple[str, float]]:
    """Every running process of the servers in SERVERS: pid -> (server, CPU seconds so far)."""
    found: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            server = SERVERS.get((entry / "comm").read_text().strip())
            if server is not None:
                found[int(entry.name)] = (server, cpu_seconds(int(entry.name)))
        except (FileNotFoundError, ProcessLookupError):  # it ended while being read
            continue
    return found


def server_cpu_since(start: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds each server used since ``start`` (a process started since counts whole; one
    that ended since is lost, which pooled connections make rare)."""
    used = dict.fromkeys(SERVERS.values(), 0.0)
    for pid, (server, now) in server_processes().items():
        then = start.get(pid)
        used[server] += now - (then[1] if then and then[0] == server else 0.0)
    return {server: round(seconds, 2) for server, seconds in used.items()}


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


def machine_jiffies() -> tuple[int, int, int]:
    """(busy, steal, total) clock ticks of all the machine's cores so far (``/proc/stat``):
    steal is time the hypervisor gave another guest, which no process here can account for."""
    user, nice, system, idle, iowait, irq, softirq, steal = (
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    busy = user + nice + system + irq + softirq
    return busy, steal, busy + steal + idle + iowait


class PhaseMeter:
    """CPU seconds of named processes, and the machine's busy and stolen shares, over a window."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start = {name: cpu_seconds(pid) for name, pid in pids.items()}
        self.servers = server_processes()
        self.machine = machine_jiffies()

    def figures(self) -> dict[str, object]:
        busy, steal, total = (
            now - then for now, then in zip(machine_jiffies(), self.machine, strict=True)
        )
        return {
            "cpu_s": {
                name: round(cpu_seconds(pid) - self.start[name], 2)
                for name, pid in self.pids.items()
            },
            "server_cpu_s": server_cpu_since(self.servers),
            "machine_busy": round(busy / max(1, total), 3),
            "machine_steal": round(steal / max(1, total), 3),
        }
