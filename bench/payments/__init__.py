"""Benchmarks of the payments service (ledger part)."""
