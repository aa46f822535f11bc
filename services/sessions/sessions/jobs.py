"""Background work of every replica: the housekeeping round on an interval with jitter.

One round's failure is logged and counted, never stops the loop; a database outage just makes
the round fail until it is back. Multi-replica safety is the rounds' own SQL (SKIP LOCKED).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator

from common.errors import AppError
from sqlalchemy.exc import SQLAlchemyError

from sessions import housekeeping
from sessions.deps import Deps

logger = logging.getLogger(__name__)


async def _loop(deps: Deps, interval_seconds: float) -> None:
    while True:
        await asyncio.sleep(interval_seconds * random.uniform(0.8, 1.2))
        try:
            result = await housekeeping.run_round(deps)
        except (AppError, SQLAlchemyError, OSError) as exc:
            logger.warning("housekeeping round failed", extra={"error": type(exc).__name__})
            continue
        if result.expired or result.reminded or result.gave_up:
            logger.info(
                "housekeeping round",
                extra={
                    "expired": result.expired,
                    "reminded": result.reminded,
                    "gave_up": result.gave_up,
                },
            )


@contextlib.asynccontextmanager
async def run_housekeeping(deps: Deps, *, interval_seconds: float) -> AsyncIterator[None]:
    task = asyncio.create_task(_loop(deps, interval_seconds), name="sessions-housekeeping")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
