"""Tier names are durations: ``500ms``, ``5s``, ``2m``, ``2h``; the name is the declared TTL."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^(\d+)(ms|s|m|h)$")
_FACTOR_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


def parse_duration(name: str) -> int:
    """Milliseconds of a tier name; ``ValueError`` naming the value when it is not one."""
    match = _DURATION.match(name)
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"not a tier duration: {name!r} (expected e.g. 500ms, 5s, 2m, 2h)")
    return int(match.group(1)) * _FACTOR_MS[match.group(2)]
