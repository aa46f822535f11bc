"""``eventually()``: poll a condition until it holds or a deadline passes (no bare sleep loops).

row = await eventually(lambda: fetch_row(...), within=10)     # returns the first truthy value
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], *, within: float = 10.0, interval: float = 0.05
) -> T:
    """The first truthy result of ``probe()``; ``TimeoutError`` naming the last one otherwise."""
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {within}s (last value: {result!r})")
        await asyncio.sleep(interval)
