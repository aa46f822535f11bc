"""Pure rules of HTTP idempotency keys (reference/payments.md §1, §6a).

A key is 16-255 printable ASCII characters. A request is identified by the SHA-256 of its
method, route and canonical validated body (sorted keys, no whitespace), so semantically equal
bodies (key order, spacing) hash the same and a changed payload is detected.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{16,255}$")


class KeyFormatError(ValueError):
    pass


def validate_key(value: str) -> str:
    if not KEY_PATTERN.match(value):
        raise KeyFormatError(
            "Idempotency-Key must be 16 to 255 printable ASCII characters without spaces."
        )
    return value


def canonical_json(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def request_hash(method: str, route: str, body: Mapping[str, Any]) -> bytes:
    digest = hashlib.sha256()
    digest.update(method.upper().encode())
    digest.update(b"\n")
    digest.update(route.encode())
    digest.update(b"\n")
    digest.update(canonical_json(body))
    return digest.digest()


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """What identifies one client request: the key, who sent it, where, and its payload hash."""

    scope: str
    principal_id: str
    key: str | None
    method: str
    path: str
    body_hash: bytes


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response as sent (bytes), stored on the key and replayed byte for byte."""

    status: int
    body: bytes
    content_type: str
    replayed: bool = False

    @property
    def error_code(self) -> str | None:
        if self.status < 400:
            return None
        code = json.loads(self.body).get("code")
        return str(code) if code else None
