"""Reads the kill switches from the database with a short per-replica cache; fails closed.

When the switches cannot be read (database down, slow, rows missing) the state is unknown and
every money movement is blocked (``blocking_switch(None, …)``) until a read succeeds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from payments.errors import MoneyMovementDisabledError
from payments.kill_switch_store import read_all
from payments.kill_switches import Operation, Switch, blocking_switch

logger = logging.getLogger(__name__)

BLOCKED_RETRY_AFTER_SECONDS = 30


class CachedKillSwitches:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        cache_seconds: float,
        read_timeout_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self.read_timeout_seconds = read_timeout_seconds
        self.clock = clock
        self._states: dict[Switch, bool] | None = None
        self._fresh_until = 0.0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._fresh_until = 0.0

    async def states(self) -> Mapping[Switch, bool] | None:
        if self._states is not None and self.clock() < self._fresh_until:
            return self._states
        async with self._lock:
            if self._states is not None and self.clock() < self._fresh_until:
                return self._states
            try:
                async with asyncio.timeout(self.read_timeout_seconds):
                    async with self.engine.connect() as conn:
                        rows = await read_all(conn)
            except (SQLAlchemyError, OSError, TimeoutError) as exc:
                logger.warning(
                    "kill switches unreadable; money movement blocked",
                    extra={"error": type(exc).__name__},
                )
                self._states = None
                return None
            self._states = {row.name: row.enabled for row in rows}
            self._fresh_until = self.clock() + self.cache_seconds
            return self._states

    async def require(self, operation: Operation) -> None:
        blocked = blocking_switch(await self.states(), operation)
        if blocked is not None:
            raise MoneyMovementDisabledError(
                f"{operation.value} is disabled by {blocked.value}.",
                retry_after=BLOCKED_RETRY_AFTER_SECONDS,
                switch=blocked.value,
            )
