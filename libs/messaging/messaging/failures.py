"""Failure classification for consumers: transient (retry later) vs permanent / poison (DLQ now).

Handlers may raise :class:`TransientError` (optionally with ``retry_after`` seconds) or
:class:`PermanentError` explicitly. Otherwise:

- poison: the message itself is unreadable — ``pydantic.ValidationError``, JSON/Unicode decode
  errors, a message type this consumer does not know;
- transient: timeouts, connection errors, HTTP 5xx, 429 (with ``Retry-After`` when known),
  409 responses an upstream marks as "in progress", and our own ``Unavailable``/``UpstreamTimeout``;
- permanent: other HTTP 4xx and our own client-side ``AppError`` subclasses (400/403/404/409/422);
- anything unrecognised is treated as transient: it is retried on the schedule and then lands in
  the DLQ as ``exhausted``, so a bug is never silently dropped.
"""

from __future__ import annotations

import hashlib
import json
import traceback
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType

from common.errors import AppError, TooManyRequests, Unavailable, UpstreamTimeout
from common.redaction import scrub_text
from pydantic import ValidationError

from messaging.contracts import UnknownContractError

MAX_MESSAGE_CHARS = 1024
MAX_STACK_CHARS = 8192
FINGERPRINT_FRAMES = 5


class FailureKind(StrEnum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    POISON = "poison"
    EXHAUSTED = "exhausted"


class TransientError(Exception):
    """Raise from a handler for a failure that will likely pass (provider down, lock busy)."""

    def __init__(self, message: str = "transient failure", *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """Raise from a handler for a failure no retry will fix (the DLQ is the place for it)."""


class PoisonMessageError(Exception):
    """The message cannot be read at all."""


@dataclass(frozen=True)
class Classification:
    kind: FailureKind
    retry_after: float | None = None


_POISON = (
    ValidationError,
    json.JSONDecodeError,
    UnicodeDecodeError,
    UnknownContractError,
    PoisonMessageError,
)
_TRANSIENT_BUILTIN = (TimeoutError, ConnectionError, OSError)


def _status_of(exc: BaseException) -> int | None:
    for attr in ("status_code", "http_status", "status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and 100 <= value <= 599:
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None) or getattr(response, "status", None)
    if isinstance(value, int) and 100 <= value <= 599:
        return value
    return None


def _retry_after_of(exc: BaseException) -> float | None:
    value = getattr(exc, "retry_after", None)
    if isinstance(value, (int, float)) and value >= 0:
        return float(value)
    for holder in (exc, getattr(exc, "response", None)):
        headers = getattr(holder, "headers", None)
        raw = (
            headers.get("Retry-After") if headers is not None and hasattr(headers, "get") else None
        )
        if raw is not None:
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                return None
    return None


def classify(exc: BaseException) -> Classification:
    if isinstance(exc, TransientError):
        return Classification(FailureKind.TRANSIENT, exc.retry_after)
    if isinstance(exc, PermanentError):
        return Classification(FailureKind.PERMANENT)
    if isinstance(exc, _POISON):
        return Classification(FailureKind.POISON)
    if isinstance(exc, (Unavailable, UpstreamTimeout, TooManyRequests)):
        return Classification(FailureKind.TRANSIENT, exc.retry_after)
    if isinstance(exc, AppError):
        kind = FailureKind.TRANSIENT if exc.status >= 500 else FailureKind.PERMANENT
        return Classification(kind, exc.retry_after)
    status = _status_of(exc)
    if status is not None:
        if status == 429 or status >= 500 or status in (408, 425):
            return Classification(FailureKind.TRANSIENT, _retry_after_of(exc))
        if 400 <= status < 500:
            return Classification(FailureKind.PERMANENT)
    if isinstance(exc, _TRANSIENT_BUILTIN):
        return Classification(FailureKind.TRANSIENT)
    return Classification(FailureKind.TRANSIENT, _retry_after_of(exc))


def exception_type_name(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def exception_message(exc: BaseException) -> str:
    return scrub_text(str(exc))[:MAX_MESSAGE_CHARS]


_THIRD_PARTY = ("site-packages", "/lib/python", "<frozen")


def _our_frames(tb: TracebackType | None) -> list[tuple[str, str]]:
    """(file name, function) of each frame, ours only when there are any: read off the code
    objects, not ``traceback.extract_tb``, which also reads every line's source and position
    (the failure of every retried message pays for this)."""
    frames = [
        (frame.f_code.co_filename, frame.f_code.co_name) for frame, _ in traceback.walk_tb(tb)
    ]
    ours = [f for f in frames if "site-packages" not in f[0] and "/lib/python" not in f[0]]
    return ours or frames


def fingerprint(exc: BaseException) -> str:
    """sha1 of the type and the innermost frames of our own code, without line numbers."""
    frames = _our_frames(exc.__traceback__)[-FINGERPRINT_FRAMES:]
    parts = [
        exception_type_name(exc),
        *(f"{filename.rsplit('/', 1)[-1]}:{name}" for filename, name in frames),
    ]
    return hashlib.sha1("|".join(parts).encode(), usedforsecurity=False).hexdigest()


def stack_tail(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(exc))
    return scrub_text(text)[-MAX_STACK_CHARS:]
