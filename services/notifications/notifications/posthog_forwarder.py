"""``PostHogForwarder``: the analytics events the sink keeps, on to PostHog through its SDK.

The SDK's ``Posthog`` client puts each ``capture`` on an in-memory queue (``max_queue_size``)
and a background thread uploads batches to ``{host}/batch/`` (every 100 events or
``flush_interval`` seconds), retrying 408/429/5xx and network errors ``max_retries`` times, then
hands the batch to ``on_error``. ``capture`` never blocks and never raises: with the queue full
it drops the event and returns None. So forwarding never slows or fails the sink's consumer;
what is lost is counted in ``notifications_analytics_forwarded_total{outcome}``: ``queued``,
``dropped`` (the queue was full) and ``failed`` (an upload gave up; per event).

Each event goes with ``uuid`` = the publisher's message id (PostHog deduplicates on it) and its
own time; an event without a user is sent personless (the SDK invents its distinct id).
``close`` flushes within a budget on a daemon thread of its own: ``flush()`` blocks its caller
and ``shutdown()`` drains without a deadline, so an unreachable PostHog never holds shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

from posthog import Posthog
from posthog.capture_mode import CaptureMode
from prometheus_client import CollectorRegistry, Counter

from notifications.analytics_rules import KeptEvent

logger = logging.getLogger(__name__)


class PostHogForwarder:
    def __init__(self, client: Posthog, outcomes: Counter, *, close_budget_s: float) -> None:
        self._client = client
        self._outcomes = outcomes
        self._close_budget_s = close_budget_s

    @classmethod
    def create(
        cls,
        *,
        host: str,
        api_key: str,
        max_queue_size: int,
        flush_interval_s: float,
        timeout_s: float,
        max_retries: int,
        registry: CollectorRegistry | None,
    ) -> PostHogForwarder:
        outcomes = Counter(
            "notifications_analytics_forwarded_total",
            "Analytics events handed to PostHog, by outcome (queued, dropped, failed)",
            ["outcome"],
            registry=registry or CollectorRegistry(),
        )

        def on_error(error: Exception, batch: list[dict[str, Any]]) -> None:
            outcomes.labels("failed").inc(len(batch))
            logger.warning(
                "posthog upload gave up; its events are dropped",
                extra={"events": len(batch), "error": type(error).__name__},
            )

        client = Posthog(
            api_key,
            host=host,
            max_queue_size=max_queue_size,
            flush_interval=flush_interval_s,
            timeout=timeout_s,
            max_retries=max_retries,
            on_error=on_error,
            capture_mode=CaptureMode.V0,
            disable_geoip=True,
        )
        return cls(client, outcomes, close_budget_s=timeout_s)

    def forward(self, event: KeptEvent) -> None:
        queued = self._client.capture(
            event.name,
            distinct_id=str(event.user_id) if event.user_id is not None else None,
            properties={**event.properties, "producer": event.producer},
            timestamp=event.occurred_at,
            uuid=str(event.message_id),
        )
        self._outcomes.labels("queued" if queued is not None else "dropped").inc()

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[None] = loop.create_future()

        def done() -> None:
            if not finished.done():
                finished.set_result(None)

        def drain() -> None:
            try:
                self._client.flush(timeout_seconds=self._close_budget_s)
                self._client.shutdown()
            finally:
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(done)

        threading.Thread(target=drain, name="posthog-close", daemon=True).start()
        try:
            await asyncio.wait_for(finished, self._close_budget_s + 1)
        except TimeoutError:
            logger.warning("posthog did not drain in time; buffered events are dropped")
