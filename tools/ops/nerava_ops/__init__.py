"""``nerava-ops``: the operators' command line (through the gateway's admin API)."""

from __future__ import annotations

from nerava_ops.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
