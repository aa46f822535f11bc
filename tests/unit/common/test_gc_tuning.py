"""A started service freezes its heap out of the collector's scans and raises the young
generation's threshold; 0 leaves Python's collector alone. Each case runs in a fresh
interpreter: freezing this test process's heap would keep its garbage to the end of the run."""

from __future__ import annotations

import subprocess
import sys

PROBE = (
    "import gc, sys; from common.gc_tuning import tune_gc; before = gc.get_threshold();"
    " tune_gc(int(sys.argv[1])); print(gc.get_threshold()[0], gc.get_freeze_count() > 0,"
    " gc.get_threshold()[1:] == before[1:])"
)


def probe(threshold: int) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(threshold)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_a_threshold_freezes_the_heap_and_raises_the_young_generation() -> None:
    assert probe(50_000) == "50000 True True"


def test_zero_leaves_the_collector_as_python_set_it() -> None:
    assert probe(0) == "700 False True"
