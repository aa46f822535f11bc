"""Failure classification and where a failed delivery goes next (no broker needed)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from common.errors import Conflict, TooManyRequests, Unavailable
from messaging.envelope import Envelope
from messaging.failures import (
    FailureKind,
    PermanentError,
    TransientError,
    classify,
    fingerprint,
)
from messaging.headers import replay_headers, without_broker_headers
from messaging.retry_policy import RetryPolicy
from messaging.settings import MessagingSettings
from messaging.topology import parse_tiers
from pydantic import ValidationError

TIERS = parse_tiers(["5s", "30s", "2m", "10m", "30m", "2h"])
BY_NAME = {t.name: t for t in TIERS}


class ProviderError(Exception):
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"provider answered {status}")
        self.status = status
        self.headers = headers or {}


def _poison() -> BaseException:
    try:
        Envelope.from_bytes(b'{"type": 1}')
    except ValidationError as exc:
        return exc
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("exc", "kind", "retry_after"),
    [
        (TimeoutError(), FailureKind.TRANSIENT, None),
        (ConnectionResetError(), FailureKind.TRANSIENT, None),
        (ProviderError(503), FailureKind.TRANSIENT, None),
        (ProviderError(429, {"Retry-After": "90"}), FailureKind.TRANSIENT, 90.0),
        (ProviderError(400), FailureKind.PERMANENT, None),
        (ProviderError(404), FailureKind.PERMANENT, None),
        (Unavailable("down", retry_after=12), FailureKind.TRANSIENT, 12),
        (TooManyRequests("slow down", retry_after=3), FailureKind.TRANSIENT, 3),
        (Conflict("already done"), FailureKind.PERMANENT, None),
        (TransientError("later", retry_after=40), FailureKind.TRANSIENT, 40),
        (PermanentError("never"), FailureKind.PERMANENT, None),
        (json.JSONDecodeError("bad", "{", 0), FailureKind.POISON, None),
        (_poison(), FailureKind.POISON, None),
        (KeyError("bug"), FailureKind.TRANSIENT, None),  # unknown: retried, then DLQ
    ],
)
def test_classification(exc: BaseException, kind: FailureKind, retry_after: Any) -> None:
    result = classify(exc)
    assert result.kind is kind
    assert result.retry_after == retry_after


def test_schedule_then_exhausted_and_random_jitter_bucket() -> None:
    policy = RetryPolicy([BY_NAME["5s"], BY_NAME["30s"], BY_NAME["2m"]], TIERS)
    rng = random.Random(7)
    buckets = set()
    for _ in range(30):
        first = policy.decide(FailureKind.TRANSIENT, 0, rng=rng)
        assert first.bucket is not None and first.bucket.tier == "5s"
        buckets.add(first.bucket.name)
    assert buckets == {"nerava.retry.5s.a", "nerava.retry.5s.b", "nerava.retry.5s.c"}
    third = policy.decide(FailureKind.TRANSIENT, 2, rng=rng)
    assert third.bucket is not None and third.bucket.tier == "2m"
    done = policy.decide(FailureKind.TRANSIENT, 3, rng=rng)
    assert done.to_dlq and done.kind is FailureKind.EXHAUSTED
    assert policy.decide(FailureKind.POISON, 0).to_dlq
    assert policy.decide(FailureKind.PERMANENT, 0).kind is FailureKind.PERMANENT


def test_retry_after_picks_the_first_tier_at_least_that_long() -> None:
    policy = RetryPolicy([BY_NAME["5s"], BY_NAME["30s"]], TIERS)

    def tier(failures: int, retry_after: float) -> str:
        bucket = policy.decide(FailureKind.TRANSIENT, failures, retry_after=retry_after).bucket
        assert bucket is not None
        return bucket.tier

    assert tier(0, 20) == "30s"
    assert tier(0, 30) == "30s"
    assert tier(0, 31) == "2m"
    assert tier(1, 1) == "30s"  # never shorter than the scheduled tier
    assert tier(0, 99_999) == "2h"  # the longest there is


def test_retry_after_is_never_shortened_by_the_jitter() -> None:
    policy = RetryPolicy([BY_NAME["5s"], BY_NAME["30s"]], TIERS)
    rng = random.Random(3)
    waits = set()
    for _ in range(60):
        bucket = policy.decide(FailureKind.TRANSIENT, 0, retry_after=30, rng=rng).bucket
        assert bucket is not None and bucket.tier == "30s"
        waits.add(bucket.ttl_ms)
    assert waits == {30_000, 36_000}  # the 24 s bucket of the 30 s tier is never taken
    longest = policy.decide(FailureKind.TRANSIENT, 0, retry_after=99_999, rng=rng).bucket
    assert longest is not None and longest.name == "nerava.retry.2h.c"


def test_tier_buckets_are_jittered_ttls() -> None:
    [tier] = parse_tiers(["30s"])
    assert [(b.name, b.ttl_ms) for b in tier.buckets] == [
        ("nerava.retry.30s.a", 24_000),
        ("nerava.retry.30s.b", 30_000),
        ("nerava.retry.30s.c", 36_000),
    ]
    with pytest.raises(ValueError, match="not a tier duration"):
        parse_tiers(["soon"])


def test_schedules_must_use_declared_tiers() -> None:
    settings = MessagingSettings(retry_schedules={"notifications.sms.send": ["5s", "30s"]})
    assert settings.retry_schedule("notifications.sms.send") == ["5s", "30s"]
    assert settings.retry_schedule("other") == ["5s", "30s", "2m"]
    with pytest.raises(ValidationError, match=r"notifications\.sms\.send"):
        MessagingSettings(retry_schedules={"notifications.sms.send": ["7s"]})


def test_fingerprint_groups_by_type_and_our_frames_not_by_message() -> None:
    def fail(n: int) -> None:
        raise ValueError(f"order {n} broken")

    prints = set()
    for n in range(3):
        try:
            fail(n)
        except ValueError as exc:
            prints.add(fingerprint(exc))
    assert len(prints) == 1


def test_republished_headers_drop_broker_and_failure_headers() -> None:
    headers = {
        "x-death": [{"count": 1}],
        "x-first-death-reason": "expired",
        "x-delivery-count": 2,
        "x-retry-attempt": 3,
        "x-exception-type": "ValueError",
        "x-replay-count": 1,
        "traceparent": "00-abc-def-01",
    }
    assert without_broker_headers(headers) == {
        "x-retry-attempt": 3,
        "x-exception-type": "ValueError",
        "x-replay-count": 1,
        "traceparent": "00-abc-def-01",
    }
    assert replay_headers(headers) == {"x-replay-count": 1, "traceparent": "00-abc-def-01"}
