"""The whole system as real processes on ephemeral ports, driven only through the gateway.

``stack`` starts the fakes and the five services once per run, on a database, vhost and Redis
prefix of their own (not the run's: the stack's consumers would otherwise compete for the queues
of the in-process services the integration tests start); each process's output goes to a log
file shown when startup fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from deploy.local.environment import FAKES, SERVICES, generate_auth_keys
from deploy.local.supervisor import StartupError, Supervisor, stack_children
from tests.support import isolation
from tests.support.migrate import migrate_all
from tests.support.system_stack import RunningStack, free_port


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningStack]:
    own = await isolation.create(isolation.new_run_id())
    try:
        await asyncio.to_thread(migrate_all, own.database_url)
        names = (*FAKES, *SERVICES)
        ports = {name: free_port() for name in names}
        log_dir = tmp_path_factory.mktemp("stack-logs")
        children = stack_children(ports, own.env())
        for child in children:
            if child.name == "auth":  # known keys, so an operator command can use them too
                child.env.update(generate_auth_keys())
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
