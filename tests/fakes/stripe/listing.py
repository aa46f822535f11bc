"""Stripe list objects with ``limit`` / ``starting_after`` / ``ending_before`` cursors."""

from __future__ import annotations

from typing import Any

from tests.fakes.stripe import params as p
from tests.fakes.stripe.errors import invalid


def page(rows: list[dict[str, Any]], params: dict[str, Any], url: str) -> dict[str, Any]:
    """``rows`` newest first, already filtered; cut one page out of them."""
    size = p.limit(params)
    ids = [row["id"] for row in rows]
    after, before = params.get("starting_after"), params.get("ending_before")
    if after:
        if after not in ids:
            raise invalid(f"No such object: '{after}'", param="starting_after")
        rows = rows[ids.index(after) + 1 :]
        chunk = rows[:size]
        more = len(rows) > size
    elif before:
        if before not in ids:
            raise invalid(f"No such object: '{before}'", param="ending_before")
        rows = rows[: ids.index(before)]
        chunk = rows[-size:]
        more = len(rows) > size
    else:
        chunk = rows[:size]
        more = len(rows) > size
    return {"object": "list", "data": chunk, "has_more": more, "url": url}
