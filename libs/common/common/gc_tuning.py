"""The cyclic garbage collector of a long-running service process, tuned once it has started.

A service's heap after startup is large and lives as long as the process: the imported
libraries, SQLAlchemy's compiled statements, pydantic's validators, the SDKs. With Python's
defaults every full (generation 2) collection scanned all of it, every few seconds under load,
and stopped the event loop 100-300 ms each time (measured in every service during
``bench.isolation``: each sessions stall of ~130 ms was one of its full collections, and the
activations in flight then took 150-350 ms instead of 25). Forwarding and handling also
allocate many short-lived objects, some in reference cycles, so the young generation was
collected often enough to cost a measurable share of the CPU per request (~15 % in the
gateway).

:func:`tune_gc` collects once, freezes what is alive (never scanned again: a full collection
then scans only what the process allocated since), and raises the young generation's threshold.
"""

from __future__ import annotations

import gc


def tune_gc(gen0_threshold: int) -> None:
    """``gen0_threshold`` 0 leaves the collector as Python set it (an in-process test's apps:
    freezing would keep each test's cycles for the rest of the run)."""
    if gen0_threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)
