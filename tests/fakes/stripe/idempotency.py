"""Stripe v1 idempotency: the first result of a key is stored and replayed.

- Keys are scoped per account (``Stripe-Account`` header, else the platform) and live
  ``idempotency_ttl_seconds`` (24 h) on the fake clock; after that the key is new again.
- Once execution began, the status and body are stored (including 4xx business errors such
  as ``balance_insufficient`` or a card decline, and an injected error with ``cache=True``);
  parameter-validation failures and 429s are not.
- Same key, same endpoint and parameters: the stored answer, byte-identical, with
  ``Idempotent-Replayed: true`` and ``Original-Request: req_...``.
- Same key with other parameters or another endpoint: 400 ``idempotency_error``. With
  ``strict_replays`` (the default) "the same parameters" means the same ones in the same order,
  i.e. the same encoded body; ``strict_replays=False`` compares them as a set, as Stripe does.
- Same key while the first request is still executing: 409 ``idempotency_key_in_use``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.core.runtime import FakeClock
from tests.fakes.stripe.errors import StripeApiError

KEY_MAX = 255


@dataclass
class StoredResult:
    endpoint: str
    params: tuple[tuple[str, str], ...]
    created: float
    request_id: str
    status: int | None = None
    body: str | None = None

    @property
    def in_flight(self) -> bool:
        return self.status is None


class IdempotencyStore:
    def __init__(self, clock: FakeClock, ttl_seconds: float) -> None:
        self.clock = clock
        self.ttl_seconds = ttl_seconds
        self.entries: dict[tuple[str, str], StoredResult] = {}
        # Replays refused with idempotency_error (other parameters or another endpoint).
        self.mismatches = 0

    def reset(self) -> None:
        self.entries.clear()
        self.mismatches = 0

    def lookup(self, scope: str, key: str) -> StoredResult | None:
        entry = self.entries.get((scope, key))
        if entry is not None and self.clock.now() - entry.created >= self.ttl_seconds:
            del self.entries[(scope, key)]
            return None
        return entry

    def claim(
        self,
        scope: str,
        key: str,
        endpoint: str,
        params: tuple[tuple[str, str], ...],
        request_id: str,
        *,
        strict: bool = True,
    ) -> StoredResult | web.Response:
        """A new in-flight entry, or the answer this key gets instead of executing."""
        if len(key) > KEY_MAX:
            raise StripeApiError(
                400,
                f"Invalid idempotency key: must be at most {KEY_MAX} characters.",
                param="Idempotency-Key",
                stored=False,
            )
        entry = self.lookup(scope, key)
        if entry is None:
            entry = StoredResult(endpoint, params, self.clock.now(), request_id)
            self.entries[(scope, key)] = entry
            return entry
        if entry.in_flight:
            raise StripeApiError(
                409,
                "There is currently another in-progress request using this Stripe-Account,"
                " Idempotency-Key, and API key. Please try again later.",
                code="idempotency_key_in_use",
                stored=False,
            )
        if entry.endpoint != endpoint:
            self.mismatches += 1
            raise StripeApiError(
                400,
                "Keys for idempotent requests can only be used for the same endpoint they were"
                f" first used for ('{entry.endpoint}' vs '{endpoint}'). Try using a key other"
                f" than '{key}' if you meant to execute a different request.",
                type="idempotency_error",
                stored=False,
            )
        same = entry.params == params if strict else sorted(entry.params) == sorted(params)
        if not same:
            self.mismatches += 1
            raise StripeApiError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they were"
                f" first used with. Try using a key other than '{key}' if you meant to execute a"
                " different request.",
                type="idempotency_error",
                stored=False,
            )
        return web.Response(
            text=entry.body,
            status=entry.status or 500,
            content_type="application/json",
            headers={"Idempotent-Replayed": "true", "Original-Request": entry.request_id},
        )

    def store(self, scope: str, key: str, response: web.Response) -> None:
        entry = self.entries.get((scope, key))
        if entry is not None:
            entry.status = response.status
            entry.body = response.text

    def forget(self, scope: str, key: str) -> None:
        self.entries.pop((scope, key), None)

    def admin_json(self) -> list[dict[str, Any]]:
        return [
            {
                "scope": scope,
                "key": key,
                "endpoint": e.endpoint,
                "status": e.status,
                "created": e.created,
                "request_id": e.request_id,
            }
            for (scope, key), e in self.entries.items()
        ]
