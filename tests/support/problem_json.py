"""Assertions on problem+json answers (every service's errors have this shape)."""

from __future__ import annotations

from typing import Any

import httpx


def problem(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Asserts a problem+json answer with ``status`` and ``code``; returns its body."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json", resp.headers
    body: dict[str, Any] = resp.json()
    assert body["code"] == code, body
    assert resp.headers["X-Error-Code"] == code
    return body


def assert_retry_after(resp: httpx.Response) -> int:
    """Asserts ``Retry-After`` (>= 1 s) and the body's ``retry_after`` agree; returns it."""
    body = resp.json()
    assert int(resp.headers["Retry-After"]) >= 1
    assert body["retry_after"] == int(resp.headers["Retry-After"])
    return int(body["retry_after"])
