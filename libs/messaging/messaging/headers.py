"""AMQP header names of the failure, retry and replay protocol (docs/architecture.md §3.5)."""

from __future__ import annotations

from typing import Any

RETRY_ATTEMPT = "x-retry-attempt"
RETRY_MAX = "x-retry-max"
RETRY_TIER = "x-retry-tier"
FIRST_FAILED_AT = "x-first-failed-at"
LAST_FAILED_AT = "x-last-failed-at"
NEXT_ATTEMPT_AT = "x-next-attempt-at"
EXCEPTION_TYPE = "x-exception-type"
EXCEPTION_MESSAGE = "x-exception-message"
EXCEPTION_FINGERPRINT = "x-exception-fingerprint"
EXCEPTION_STACK = "x-exception-stack"
FAILURE_KIND = "x-failure-kind"
ORIGINAL_QUEUE = "x-original-queue"
ORIGINAL_EXCHANGE = "x-original-exchange"
ORIGINAL_ROUTING_KEY = "x-original-routing-key"
FAILED_BY = "x-failed-by"

REPLAY_ID = "x-replay-id"
REPLAY_COUNT = "x-replay-count"
REPLAYED_BY = "x-replayed-by"
REPLAYED_AT = "x-replayed-at"

ORIGIN_SERVICE = "x-origin-service"
SCHEMA_VERSION = "x-schema-version"

FAILURE_HEADERS = frozenset(
    {
        RETRY_ATTEMPT,
        RETRY_MAX,
        RETRY_TIER,
        FIRST_FAILED_AT,
        LAST_FAILED_AT,
        NEXT_ATTEMPT_AT,
        EXCEPTION_TYPE,
        EXCEPTION_MESSAGE,
        EXCEPTION_FINGERPRINT,
        EXCEPTION_STACK,
        FAILURE_KIND,
        ORIGINAL_QUEUE,
        ORIGINAL_EXCHANGE,
        ORIGINAL_ROUTING_KEY,
        FAILED_BY,
    }
)


def is_broker_header(name: str) -> bool:
    """Set by RabbitMQ; copying ``x-death`` into a republish makes 3.10 drop the message."""
    return name.startswith(("x-death", "x-first-death", "x-last-death")) or name in (
        "x-delivery-count",
        "x-received-from",
    )


def without_broker_headers(headers: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in headers.items() if not is_broker_header(k)}


def replay_headers(headers: dict[str, Any]) -> dict[str, Any]:
    """Headers of a replayed copy: broker and failure headers gone, replay history kept."""
    return {k: v for k, v in without_broker_headers(headers).items() if k not in FAILURE_HEADERS}


def int_header(headers: dict[str, Any], name: str, default: int = 0) -> int:
    value = headers.get(name)
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, (str, bytes)):
        try:
            return int(value)
        except ValueError:
            return default
    return default


def str_header(headers: dict[str, Any], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
