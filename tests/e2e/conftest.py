"""The whole system as real processes on ephemeral ports, driven only through the gateway.

``stack`` starts the fakes and the five services once per run, on a database, vhost and Redis
prefix of their own (not the run's: the stack's consumers would otherwise compete for the queues
of the in-process services the integration tests start); each process's output goes to a log
file shown when startup fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.support.story import Person, Platform
from tests.support.system_stack import (
    SHORT_RETRIES,
    RunningStack,
    StackDidNotStart,
    running_stack,
)


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningStack]:
    try:
        async with running_stack(tmp_path_factory.mktemp("stack-logs"), SHORT_RETRIES) as running:
            yield running
    except StackDidNotStart as exc:
        pytest.fail(str(exc))


@pytest.fixture
async def platform(stack: RunningStack) -> AsyncIterator[Platform]:
    async with aiohttp.ClientSession() as http:
        yield Platform(stack, http)


@pytest.fixture
async def admin(platform: Platform) -> Person:
    return await platform.person_with_role("admin")
