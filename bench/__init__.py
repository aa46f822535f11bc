"""Benchmarks: each ``bench/<name>/`` runs with ``uv run python -m bench.<name>``.

Conventions (see ``bench/report.py``):
- every scenario prints exactly one JSON line to stdout: ``{"bench", "scenario", ...figures}``;
- where a baseline exists it is measured in the same run, on the same machine, and the line
  carries ``"baseline"`` (the scenario compared with) and ``"ratio"``;
- latencies in milliseconds (``p50_ms``, ``p99_ms``), throughput in ``*_per_s``;
- a benchmark starts what it needs on loopback, bounds its own load (count and time) and stops
  everything it started; benchmarks assert nothing: they measure.
"""
