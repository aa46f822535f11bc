"""Where a failed delivery goes next: the next retry tier (random jitter bucket) or the DLQ.

The schedule is per queue (``MessagingSettings.retry_schedules``): attempt ``n`` (0-based count
of failures so far, from ``x-retry-attempt``) waits in ``schedule[n]``. A ``Retry-After`` picks
the first declared tier at least that long (never shorter than the scheduled one), and only
among its jitter buckets those at least that long. After the
last scheduled tier, or for permanent / poison failures, the message goes to ``<queue>.dlq``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from messaging.failures import FailureKind
from messaging.topology import RetryBucket, RetryTier


@dataclass(frozen=True)
class Decision:
    kind: FailureKind
    bucket: RetryBucket | None  # None: to the DLQ

    @property
    def to_dlq(self) -> bool:
        return self.bucket is None


class RetryPolicy:
    def __init__(self, schedule: Sequence[RetryTier], tiers: Sequence[RetryTier]) -> None:
        self.schedule = tuple(schedule)
        self.tiers = tuple(sorted(tiers, key=lambda t: t.ttl_ms))

    @property
    def max_attempts(self) -> int:
        """Deliveries in total: the first plus one per scheduled tier."""
        return len(self.schedule) + 1

    def decide(
        self,
        kind: FailureKind,
        failures_so_far: int,
        *,
        retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> Decision:
        if kind is not FailureKind.TRANSIENT:
            return Decision(kind, None)
        if failures_so_far >= len(self.schedule):
            return Decision(FailureKind.EXHAUSTED, None)
        tier = self.schedule[failures_so_far]
        buckets = tier.buckets
        if retry_after is not None:
            tier = self._at_least(tier, retry_after)
            # the jitter never brings the wait under Retry-After (the 0.8x bucket of the tier
            # just long enough would); past the longest tier, its longest bucket
            buckets = tuple(b for b in tier.buckets if b.ttl_ms >= retry_after * 1000) or (
                max(tier.buckets, key=lambda b: b.ttl_ms),
            )
        bucket = (rng or random).choice(buckets)
        return Decision(FailureKind.TRANSIENT, bucket)

    def _at_least(self, scheduled: RetryTier, seconds: float) -> RetryTier:
        wanted_ms = max(scheduled.ttl_ms, seconds * 1000)
        for tier in self.tiers:
            if tier.ttl_ms >= wanted_ms:
                return tier
        return self.tiers[-1] if self.tiers else scheduled
