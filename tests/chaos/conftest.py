"""A stack of its own for the chaos suite (its processes are killed; its DLQs are its own), and
the figures the suite prints at the end of the run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.support.story import Person, Platform
from tests.support.system_stack import (
    SHORT_RETRIES,
    RunningStack,
    StackDidNotStart,
    running_stack,
)

FIGURES: list[dict[str, Any]] = []


@pytest.fixture(scope="session")
async def chaos_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningStack]:
    try:
        async with running_stack(tmp_path_factory.mktemp("chaos-logs"), SHORT_RETRIES) as stack:
            yield stack
    except StackDidNotStart as exc:
        pytest.fail(str(exc))


@pytest.fixture
async def platform(chaos_stack: RunningStack) -> AsyncIterator[Platform]:
    async with aiohttp.ClientSession() as http:
        yield Platform(chaos_stack, http)


@pytest.fixture
async def admin(platform: Platform) -> Person:
    return await platform.person_with_role("admin")


@pytest.fixture
def figures() -> list[dict[str, Any]]:
    return FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for run in FIGURES:
        terminalreporter.write_sep("-", "chaos figures")
        for key, value in run.items():
            terminalreporter.write_line(f"{key}: {value}")
