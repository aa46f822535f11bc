"""The platform balance: what transfers draw from and charges add to (adjustable by admin)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Balance:
    currency: str
    available: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)

    def set(self, *, available: int | None, pending: int | None, currency: str | None) -> None:
        cur = (currency or self.currency).lower()
        if available is not None:
            self.available[cur] = available
        if pending is not None:
            self.pending[cur] = pending

    def resource(self) -> dict[str, Any]:
        currencies = sorted(set(self.available) | set(self.pending) | {self.currency})

        def funds(bucket: dict[str, int]) -> list[dict[str, Any]]:
            return [
                {
                    "amount": bucket.get(c, 0),
                    "currency": c,
                    "source_types": {"card": bucket.get(c, 0)},
                }
                for c in currencies
            ]

        return {
            "object": "balance",
            "available": funds(self.available),
            "pending": funds(self.pending),
            "connect_reserved": [{"amount": 0, "currency": c} for c in currencies],
            "livemode": False,
        }
