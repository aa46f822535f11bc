"""``eventually``: the one way a test waits for something another task or process does."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], *, within: float = 20.0, every: float = 0.05
) -> T:
    """Awaits ``probe()`` until it returns something truthy (returned) or ``within`` seconds pass
    (``TimeoutError``)."""
    async with asyncio.timeout(within):
        while True:
            found = await probe()
            if found:
                return found
            await asyncio.sleep(every)
