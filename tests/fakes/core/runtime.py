"""Per-fake runtime pieces: a settable clock, interruptible pauses and background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from typing import Any


class FakeClock:
    """Wall-clock time plus an offset that the admin API can move forward (expiry, 24 h keys)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> float:
        self.offset += seconds
        return self.now()

    def reset(self) -> None:
        self.offset = 0.0


class FakeReset(Exception):
    """A paused call was ended by a reset: it must not touch the state of the next test."""


class Pauses:
    """Sleeps used for injected latency and hangs; a reset ends all of them at once.

    A call whose pause is ended by a reset gets :class:`FakeReset` and is answered 503 without
    performing anything.
    """

    def __init__(self) -> None:
        self._release: asyncio.Event | None = None

    def _event(self) -> asyncio.Event:
        if self._release is None:
            self._release = asyncio.Event()
        return self._release

    async def sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event().wait(), seconds)
            raise FakeReset

    def release_all(self) -> None:
        if self._release is not None:
            self._release.set()
        self._release = None


class BackgroundTasks:
    """Deliveries the fake makes after answering (status callbacks, webhooks)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> int:
        """Wait until every delivery (including those spawned meanwhile) has finished."""
        finished = 0
        while self._tasks:
            pending = list(self._tasks)
            await asyncio.gather(*pending, return_exceptions=True)
            finished += len(pending)
        return finished

    async def cancel_all(self) -> None:
        pending = list(self._tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
