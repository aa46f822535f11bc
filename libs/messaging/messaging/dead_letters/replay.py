"""Replays dead letters to their original queue only (default exchange, routing key = queue).

The copy keeps body and ``message_id`` (the consumers' inbox dedups it); broker and failure
headers are removed (the row keeps them), ``x-replay-count`` is the row's count + 1 and
``x-replayed-by`` / ``x-replayed-at`` / ``x-replay-id`` record who and when; the stored trace
context is kept, so the replay joins the message's original trace. Rows are claimed atomically
(``unresolved`` -> ``replaying``), published one at a time at ``REPLAY_RATE_PER_SECOND`` with a
confirm, then marked ``resolved``; a row not ``unresolved`` (already replayed, archived) is a
no-op reported as skipped. A replayed message that fails again reopens its row.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from messaging import headers as h
from messaging.broker_errors import BROKER_ERRORS
from messaging.confirmed_publisher import ConfirmedPublisher
from messaging.dead_letters.normalize import json_safe
from messaging.dead_letters.repository import DeadLetterRepository
from messaging.metrics import MessagingMetrics

logger = logging.getLogger(__name__)

ReplayGuard = Callable[[Sequence[Any]], Awaitable[None]]
"""Called with the rows about to be replayed; raises an ``AppError`` to refuse (kill switches)."""


@dataclass
class ReplayResult:
    replay_id: str
    requested: int
    replayed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "replay_id": self.replay_id,
            "requested": self.requested,
            "replayed": len(self.replayed),
            "skipped": len(self.skipped),
            "failed": len(self.failed),
            "replayed_ids": self.replayed,
            "skipped_ids": self.skipped,
            "failed_ids": self.failed,
        }


class Pacer:
    """At most ``rate`` operations per second (no burst): waits between publishes."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        if self._next > now:
            await asyncio.sleep(self._next - now)
        self._next = max(now, self._next) + self.interval


def replay_headers_for(row: Any, actor: str, replay_id: str) -> dict[str, Any]:
    stored = dict(row.headers or {})
    headers = h.replay_headers(stored)
    for keep in (h.ORIGINAL_EXCHANGE, h.ORIGINAL_ROUTING_KEY):
        if keep in stored:
            headers[keep] = stored[keep]
    headers.update(
        {
            h.REPLAY_COUNT: int(row.replay_count) + 1,
            h.REPLAYED_BY: actor,
            h.REPLAYED_AT: datetime.now(UTC).isoformat(),
            h.REPLAY_ID: replay_id,
        }
    )
    return json_safe(headers)  # type: ignore[no-any-return]


class Replayer:
    def __init__(
        self,
        repository: DeadLetterRepository,
        publisher: ConfirmedPublisher,
        *,
        rate_per_second: float,
        metrics: MessagingMetrics,
        guard: ReplayGuard | None = None,
    ) -> None:
        self.repository = repository
        self.publisher = publisher
        self.rate = rate_per_second
        self.metrics = metrics
        self.guard = guard
        self._lock = asyncio.Lock()  # one replay at a time per replica

    async def replay(self, ids: Sequence[int], *, actor: str) -> ReplayResult:
        result = ReplayResult(replay_id=uuid.uuid4().hex, requested=len(ids))
        async with self._lock:
            rows = await self.repository.claim_for_replay(ids)
            claimed = {r.id for r in rows}
            result.skipped = sorted(set(ids) - claimed)
            if self.guard is not None and rows:
                try:
                    await self.guard(rows)
                except Exception:
                    for row in rows:
                        await self.repository.release(row.id)
                    raise
            pacer = Pacer(self.rate)
            for row in sorted(rows, key=lambda r: r.id):
                await pacer.wait()
                try:
                    await self.publisher.publish(
                        exchange="",
                        routing_key=row.queue,
                        body=row.body,
                        headers=replay_headers_for(row, actor, result.replay_id),
                        message_id=row.message_id,
                        message_type=row.message_type,
                        content_type=row.content_type,
                        mandatory=True,
                    )
                except BROKER_ERRORS as exc:
                    logger.error(
                        "replay failed; row kept unresolved",
                        extra={"failed_id": row.id, "queue": row.queue, "error": repr(exc)[:300]},
                    )
                    await self.repository.release(row.id)
                    result.failed.append(row.id)
                    continue
                await self.repository.mark_replayed(row.id, actor)
                self.metrics.replayed.labels(row.queue).inc()
                result.replayed.append(row.id)
        logger.info(
            "dead letters replayed",
            extra={
                "replay_id": result.replay_id,
                "actor": actor,
                "replayed": len(result.replayed),
                "skipped": len(result.skipped),
                "failed": len(result.failed),
            },
        )
        return result
