"""Scrubbing of secrets and personal data from log records and exception messages.

Phone numbers, bearer tokens, JWTs, long opaque tokens and values under sensitive keys
(``code``, ``otp``, ``token``, ``password``, ``secret``, ``authorization``, ``phone``…) never
reach a log line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"

SENSITIVE_KEYS = frozenset(
    {
        "code",
        "otp",
        "otp_code",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "password",
        "secret",
        "client_secret",
        "authorization",
        "cookie",
        "set-cookie",
        "api_key",
        "phone",
        "phone_number",
        "to",
        "from",
        "body",
        "pin",
    }
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer " + REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "[jwt]"),
    (re.compile(r"\b(?:sk|rk|pk|whsec)_(?:live|test)?_?[A-Za-z0-9]{8,}"), "[secret]"),
    (re.compile(r"(?<![\w+])\+\d[\d\s-]{6,17}\d(?!\w)"), "[phone]"),
    (re.compile(r"(?<![\w.-])\d{10,15}(?![\w.-])"), "[phone]"),
    (
        re.compile(r"(?i)\b(code|otp|pin|token|password|secret)(\s*[=:]\s*)[\"']?[^\s\"',;&]+"),
        r"\1\2" + REDACTED,
    ),
    (re.compile(r"\b[A-Za-z0-9_-]{43,}\b"), "[token]"),
)


def scrub_text(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub_value(key: str, value: Any) -> Any:
    if key.lower() in SENSITIVE_KEYS:
        return REDACTED
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {str(k): scrub_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value("", v) for v in value]
    return value
