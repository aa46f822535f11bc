"""Stopping the supervised processes leaves none behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deploy.local.supervisor import Supervisor, stack_children
from tests.support.isolation import RunInfra
from tests.support.system_stack import free_port


async def test_stop_leaves_no_process(infra: RunInfra, tmp_path: Path) -> None:
    ports = {"sessions": free_port(), "notifications": free_port()}
    supervisor = Supervisor(
        stack_children(ports, infra.env(), names=("sessions", "notifications")), log_dir=tmp_path
    )
    await supervisor.start()
    pids = [c.process.pid for c in supervisor.children if c.process]
    assert len(pids) == 2
    await supervisor.stop()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
