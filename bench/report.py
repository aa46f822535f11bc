"""Figures and their one-line JSON output, shared by every benchmark."""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Sequence
from typing import Any


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; 0.0 for no samples."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_figures(samples_s: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/mean in milliseconds from samples in seconds."""
    ms = [s * 1000 for s in samples_s]
    return {
        "p50_ms": round(percentile(ms, 50), 3),
        "p90_ms": round(percentile(ms, 90), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "mean_ms": round(statistics.fmean(ms), 3) if ms else 0.0,
    }


def ratio(value: float, baseline: float) -> float:
    return round(value / baseline, 3) if baseline else 0.0


def emit(bench: str, scenario: str, **figures: Any) -> dict[str, Any]:
    """Prints one JSON line for a scenario and returns it."""
    line = {"bench": bench, "scenario": scenario, **figures}
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()
    return line
