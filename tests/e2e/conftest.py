"""The whole system as real processes on ephemeral ports, driven only through the gateway.

``stack`` starts the fakes and the five services once per run, on a database, vhost and Redis
prefix of their own (not the run's: the stack's consumers would otherwise compete for the queues
of the in-process services the integration tests start); each process's output goes to a log
file shown when startup fails.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from deploy.local.environment import FAKES, SERVICES, generate_auth_keys
from deploy.local.supervisor import StartupError, Supervisor, stack_children
from tests.e2e.story import Person, Platform
from tests.support import isolation
from tests.support.migrate import migrate_all
from tests.support.system_stack import RunningStack, free_port

# The retry horizon of the stack, short so a test sees a message exhaust its tiers and land in
# its DLQ within seconds (every queue with a schedule of its own is named).
_TIERS = ["1s", "2s", "3s"]
SHORT_RETRIES = {
    "RETRY_TIERS": json.dumps(_TIERS),
    "RETRY_DEFAULT_SCHEDULE": json.dumps(_TIERS),
    "RETRY_SCHEDULES": json.dumps(
        {"notifications.sms.send": _TIERS, "payments.billing.charge": _TIERS}
    ),
}


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningStack]:
    own = await isolation.create(isolation.new_run_id())
    try:
        await asyncio.to_thread(migrate_all, own.database_url)
        names = (*FAKES, *SERVICES)
        ports = {name: free_port() for name in names}
        log_dir = tmp_path_factory.mktemp("stack-logs")
        children = stack_children(ports, {**own.env(), **SHORT_RETRIES})
        for child in children:
            if child.name == "auth":  # known keys, so an operator command can use them too
                child.env.update(generate_auth_keys())
            if child.name == "gateway":  # the tests stand in for a load balancer (client IPs)
                child.env["TRUSTED_PROXIES"] = json.dumps(["127.0.0.1/32"])
        supervisor = Supervisor(children, log_dir=log_dir)
        try:
            await supervisor.start()
        except StartupError as exc:
            await supervisor.stop()
            logs = "\n".join(
                f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                for p in log_dir.glob("*.log")
            )
            pytest.fail(f"the stack did not start: {exc}\n{logs}")
        try:
            yield RunningStack(supervisor=supervisor, ports=ports, log_dir=log_dir)
        finally:
            await supervisor.stop()
    finally:
        await isolation.drop(own)


@pytest.fixture
async def platform(stack: RunningStack) -> AsyncIterator[Platform]:
    async with aiohttp.ClientSession() as http:
        yield Platform(stack, http)


@pytest.fixture
async def admin(platform: Platform) -> Person:
    return await platform.person_with_role("admin")
