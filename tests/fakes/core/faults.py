"""Fault rules injected over the admin API and consumed by provider endpoints.

A rule targets one endpoint name (``"messages.create"``, ``"transfers.create"``...) or ``"*"``
(every provider endpoint) and applies to the next ``times`` calls (``times=None``: until reset).
Kinds:

- ``error``: answer with ``status`` and the provider's error body for ``code`` instead of
  executing the operation (``cache=True`` lets the Stripe fake store that answer under the
  request's idempotency key, as Stripe does for a 500 once execution began);
- ``latency``: wait ``seconds`` before handling the call (the call then proceeds normally);
- ``commit_then_timeout``: execute the operation, then wait ``seconds`` before answering, so the
  side effect happened while the client sees a timeout;
- ``disconnect``: close the connection without answering, before executing anything;
- provider-specific outcome kinds (``delivery_failure`` for Twilio messages, ``card_decline``
  for Stripe PaymentIntents) that the provider code takes with :meth:`FaultBook.take_outcome`.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FaultKind = Literal[
    "error", "latency", "commit_then_timeout", "disconnect", "delivery_failure", "card_decline"
]
TRANSPORT_KINDS: tuple[FaultKind, ...] = ("error", "latency", "commit_then_timeout", "disconnect")
OUTCOME_KINDS: tuple[FaultKind, ...] = ("delivery_failure", "card_decline")
ALL_KINDS: tuple[FaultKind, ...] = TRANSPORT_KINDS + OUTCOME_KINDS
DEFAULT_HANG_SECONDS = 30.0

_ids = itertools.count(1)


class FaultSpecError(ValueError):
    """An admin request described a fault the fake cannot apply."""


@dataclass
class FaultRule:
    kind: FaultKind
    endpoint: str = "*"
    times: int | None = 1
    status: int | None = None
    code: str | int | None = None
    message: str | None = None
    error_type: str | None = None
    seconds: float = 0.0
    cache: bool = False
    match: dict[str, str] = field(default_factory=dict)
    id: int = field(default_factory=lambda: next(_ids))
    used: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultRule:
        kind = data.get("kind", "error")
        if kind not in ALL_KINDS:
            raise FaultSpecError(f"kind must be one of {', '.join(ALL_KINDS)}; got {kind!r}")
        times = data.get("times", 1)
        if times is not None and (not isinstance(times, int) or times < 1):
            raise FaultSpecError("times must be a positive integer or null (until reset)")
        status = data.get("status")
        if kind == "error" and not isinstance(status, int):
            raise FaultSpecError("an error fault needs an integer status")
        seconds = float(
            data.get("seconds", DEFAULT_HANG_SECONDS if kind == "commit_then_timeout" else 0)
        )
        if kind in ("latency", "commit_then_timeout") and seconds <= 0:
            raise FaultSpecError(f"a {kind} fault needs seconds > 0")
        match = data.get("match") or {}
        if not isinstance(match, dict):
            raise FaultSpecError("match must be an object of parameter name -> value")
        return cls(
            kind=kind,
            endpoint=str(data.get("endpoint", "*")),
            times=times,
            status=status,
            code=data.get("code"),
            message=data.get("message"),
            error_type=data.get("error_type"),
            seconds=seconds,
            cache=bool(data.get("cache", False)),
            match={str(k): str(v) for k, v in match.items()},
        )

    def applies_to(self, endpoint: str, params: dict[str, str]) -> bool:
        if self.endpoint not in ("*", endpoint):
            return False
        return all(params.get(k) == v for k, v in self.match.items())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FaultPlan:
    """What the faults say about one call, taken when the call arrives."""

    latency: float = 0.0
    error: FaultRule | None = None
    hang_after: float = 0.0
    disconnect: bool = False
    applied: list[int] = field(default_factory=list)


class FaultBook:
    """The active fault rules, in the order they were added."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> FaultRule:
        self._rules.append(rule)
        return rule

    def clear(self, endpoint: str | None = None) -> None:
        self._rules = [r for r in self._rules if endpoint is not None and r.endpoint != endpoint]

    def rules(self) -> list[FaultRule]:
        return list(self._rules)

    def _consume(self, rule: FaultRule) -> None:
        rule.used += 1
        if rule.times is not None and rule.used >= rule.times:
            self._rules.remove(rule)

    def _first(self, kind: FaultKind, endpoint: str, params: dict[str, str]) -> FaultRule | None:
        for rule in self._rules:
            if rule.kind == kind and rule.applies_to(endpoint, params):
                return rule
        return None

    def plan(self, endpoint: str, params: dict[str, str]) -> FaultPlan:
        """Take one use of the first matching rule of each transport kind."""
        plan = FaultPlan()
        for kind in TRANSPORT_KINDS:
            rule = self._first(kind, endpoint, params)
            if rule is None:
                continue
            self._consume(rule)
            plan.applied.append(rule.id)
            if kind == "latency":
                plan.latency = rule.seconds
            elif kind == "error":
                plan.error = rule
            elif kind == "commit_then_timeout":
                plan.hang_after = rule.seconds
            else:
                plan.disconnect = True
        return plan

    def take_outcome(
        self, kind: FaultKind, endpoint: str, params: dict[str, str]
    ) -> FaultRule | None:
        """Take one use of the first matching outcome rule (a decline, a failed delivery)."""
        rule = self._first(kind, endpoint, params)
        if rule is not None:
            self._consume(rule)
        return rule
