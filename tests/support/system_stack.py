"""The whole system as real processes (``deploy.local.supervisor``): ``running_stack`` starts it
for the e2e tests (``tests/e2e/conftest.py``) and the benchmarks that need every service."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from deploy.local.environment import FAKES, KEYED_SERVICES, SERVICES, generate_service_keys
from deploy.local.supervisor import StartupError, Supervisor, stack_children
from tests.support import isolation
from tests.support.migrate import migrate_all


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
    database_url: str  # the stack's own database (SQLAlchemy URL), for checks a test reads

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def gateway(self) -> str:
        return self.url("gateway")

    async def manage(self, service: str, *args: str) -> str:
        """Runs ``python -m <service>.manage ARGS`` with that process's environment, as an
        operator would next to it; returns its output, failing the test on a non-zero exit."""
        child = self.supervisor.child(service)
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


# The retry horizon of a test stack, short so a message exhausts its tiers and lands in its
# DLQ within seconds (every queue with a schedule of its own is named). What must end within
# the horizon shrinks with it: an SMS attempt cut off by a crash is taken over after its lease
# (longer than the Twilio call's own timeout, as in production); Stripe calls time out sooner;
# the payout reconciler looks for due payouts every 2 s.
SHORT_TIERS = ["1s", "2s", "3s"]
SHORT_RETRIES = {
    "RETRY_TIERS": json.dumps(SHORT_TIERS),
    "RETRY_DEFAULT_SCHEDULE": json.dumps(SHORT_TIERS),
    "RETRY_SCHEDULES": json.dumps(
        {
            queue: SHORT_TIERS
            for queue in (
                "notifications.sms.send",
                "notifications.sms.resend",
                "payments.billing.charge",
                "payments.payouts.execute",
                "payments.stripe_events.process",
            )
        }
    ),
    "TWILIO_TIMEOUT_SECONDS": "2",
    "SEND_ATTEMPT_LEASE_SECONDS": "3",
    "STRIPE_TIMEOUT_SECONDS": "2",
    "PAYOUT_RECONCILE_INTERVAL_SECONDS": "2",
}


def _log_tails(log_dir: Path) -> str:
    return "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in log_dir.glob("*.log")
    )


class StackDidNotStart(RuntimeError):
    """A process exited or did not become healthy; the message holds the tails of the logs."""


@asynccontextmanager
async def running_stack(
    log_dir: Path, settings: Mapping[str, str] | None = None
) -> AsyncIterator[RunningStack]:
    """The fakes and the five services as processes, on a database, vhost and Redis prefix of
    their own (dropped afterwards), with ``settings`` added to every process's environment.

    Auth, sessions and notifications get keys generated here, kept across a process's restart
    (an operator command run with ``RunningStack.manage`` uses the same), and the gateway
    trusts 127.0.0.1 as its load balancer, so a caller may say which client address it stands
    for (``X-Forwarded-For``)."""
    own = await isolation.create(isolation.new_run_id())
    try:
        await asyncio.to_thread(migrate_all, own.database_url)
        ports = {name: free_port() for name in (*FAKES, *SERVICES)}
        children = stack_children(ports, {**own.env(), **(settings or {})})
        for child in children:
            if child.name in KEYED_SERVICES:
                child.env.update(generate_service_keys(child.name))
            if child.name == "gateway":
                child.env["TRUSTED_PROXIES"] = json.dumps(["127.0.0.1/32"])
        supervisor = Supervisor(children, log_dir=log_dir)
        try:
            await supervisor.start()
        except StartupError as exc:
            await supervisor.stop()
            raise StackDidNotStart(
                f"the stack did not start: {exc}\n{_log_tails(log_dir)}"
            ) from exc
        try:
            yield RunningStack(supervisor, ports, log_dir, own.database_url)
        finally:
            await supervisor.stop()
    finally:
        await isolation.drop(own)
