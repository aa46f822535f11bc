from __future__ import annotations

import json

import pytest

from bench.report import emit, latency_figures, percentile, ratio


def test_percentiles_interpolate() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5.0], 99) == 5.0
    assert percentile([], 50) == 0.0


def test_latency_figures_are_milliseconds() -> None:
    figures = latency_figures([0.001, 0.002, 0.003])
    assert figures["p50_ms"] == 2.0


def test_emit_prints_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    emit("demo", "direct", requests_per_s=100.0, ratio=ratio(50, 100), baseline="nginx")
    line = json.loads(capsys.readouterr().out)
    assert line == {
        "bench": "demo",
        "scenario": "direct",
        "requests_per_s": 100.0,
        "ratio": 0.5,
        "baseline": "nginx",
    }
