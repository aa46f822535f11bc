"""Turns a message read from ``<queue>.dlq`` into a ``failed_messages`` row.

Two sources land in a DLQ: copies our failure middleware published (they carry
``x-failure-kind`` and the exception headers) and messages RabbitMQ dead-lettered itself
(a crash loop hitting the delivery limit, a reject outside the middleware): those only carry
``x-death`` / ``x-first-death-*`` and are normalized to kind ``delivery_limit`` / ``rejected``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from aio_pika.abc import AbstractIncomingMessage

from messaging import headers as h


def json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(value).decode()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _ms_to_dt(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _first_death(headers: dict[str, Any]) -> dict[str, Any]:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[-1], dict):
        return deaths[-1]  # newest first: the last entry is the first death
    return {}


def _envelope_type(body: bytes) -> str | None:
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    value = parsed.get("type") if isinstance(parsed, dict) else None
    return value if isinstance(value, str) else None


def failed_row(message: AbstractIncomingMessage, dlq: str) -> dict[str, Any]:
    headers = dict(message.headers or {})
    death = _first_death(headers)
    now = datetime.now(UTC)
    queue = h.str_header(headers, h.ORIGINAL_QUEUE) or dlq.removesuffix(".dlq")
    kind = h.str_header(headers, h.FAILURE_KIND)
    if kind is None:
        kind = h.str_header(headers, "x-first-death-reason") or "unknown"
    death_time = death.get("time")
    broker_time = death_time if isinstance(death_time, datetime) else None
    if broker_time is not None and broker_time.tzinfo is None:
        broker_time = broker_time.replace(tzinfo=UTC)
    last_ms = h.int_header(headers, h.LAST_FAILED_AT)
    first_ms = h.int_header(headers, h.FIRST_FAILED_AT)
    last = _ms_to_dt(last_ms) if last_ms else (broker_time or now)
    first = _ms_to_dt(first_ms) if first_ms else last
    message_type = message.type or _envelope_type(message.body)
    exception_type = h.str_header(headers, h.EXCEPTION_TYPE)
    if exception_type is None and kind == "delivery_limit":
        exception_type = "DeliveryLimitExceeded"
    exception_text = h.str_header(headers, h.EXCEPTION_MESSAGE)
    if exception_text is None and kind in ("delivery_limit", "rejected", "expired"):
        exception_text = (
            f"dead-lettered by RabbitMQ ({kind}) from {queue}: the consumer crashed or never "
            "settled the message"
        )
    routing_keys = death.get("routing-keys")
    fingerprint = (
        h.str_header(headers, h.EXCEPTION_FINGERPRINT)
        or hashlib.sha1(
            f"{kind}|{queue}|{message_type}".encode(), usedforsecurity=False
        ).hexdigest()
    )
    attempts = h.int_header(headers, h.RETRY_ATTEMPT)
    if not attempts:
        attempts = h.int_header(headers, "x-delivery-count") + 1 if death else 1
    return {
        "queue": queue,
        "message_id": message.message_id
        or hashlib.sha1(message.body, usedforsecurity=False).hexdigest(),
        "message_type": message_type,
        "exchange": h.str_header(headers, h.ORIGINAL_EXCHANGE)
        or h.str_header(headers, "x-first-death-exchange")
        or (death.get("exchange") if isinstance(death.get("exchange"), str) else None),
        "routing_key": h.str_header(headers, h.ORIGINAL_ROUTING_KEY)
        or (str(routing_keys[0]) if isinstance(routing_keys, list) and routing_keys else None),
        "headers": json_safe(headers),
        "body": message.body,
        "content_type": message.content_type,
        "failure_kind": kind,
        "exception_type": exception_type,
        "exception_message": exception_text,
        "fingerprint": fingerprint,
        "first_failed_at": first,
        "last_failed_at": last,
        "attempts": attempts,
    }
