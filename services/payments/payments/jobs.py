"""Background loops of payments, in every replica (their SQL is multi-replica safe):

- ``idempotency-key-reaper``: deletes expired keys (``FOR UPDATE SKIP LOCKED`` batches);
- ``parked-rewards``: applies rewards parked while earning was off (``SKIP LOCKED``).

Each round's failure is logged and the loop goes on; stopping cancels the sleep, not a round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from payments import housekeeping_handlers, reward_handlers
from payments.deps import PaymentsDeps

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    interval_seconds: float
    run: Callable[[], Awaitable[object]]


def payment_jobs(deps: PaymentsDeps) -> list[Job]:
    settings = deps.settings

    async def reap() -> int:
        return await housekeeping_handlers.reap_idempotency_keys(
            deps, batch=settings.idempotency_reaper_batch_size
        )

    async def parked() -> int:
        return await reward_handlers.apply_parked_rewards(
            deps, batch=settings.parked_rewards_batch_size
        )

    return [
        Job("idempotency-key-reaper", settings.idempotency_reaper_interval_seconds, reap),
        Job("parked-rewards", settings.parked_rewards_interval_seconds, parked),
    ]


async def _loop(job: Job, stopping: asyncio.Event) -> None:
    while not stopping.is_set():
        try:
            await job.run()
        except Exception:  # outer edge of a background loop: log with stack, keep looping
            logger.exception("job round failed", extra={"job": job.name})
        with contextlib.suppress(TimeoutError):
            delay = job.interval_seconds * random.uniform(0.8, 1.2)
            await asyncio.wait_for(stopping.wait(), timeout=delay)


@contextlib.asynccontextmanager
async def running_jobs(jobs: list[Job]) -> AsyncIterator[None]:
    stopping = asyncio.Event()
    tasks = [asyncio.create_task(_loop(job, stopping), name=f"job-{job.name}") for job in jobs]
    try:
        yield
    finally:
        stopping.set()
        await asyncio.gather(*tasks, return_exceptions=True)
