"""Runs every benchmark package under bench/ in turn (``make bench``)."""

from __future__ import annotations

import pkgutil
import runpy
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.ispkg)
    for name in names:
        sys.stderr.write(f"== bench.{name}\n")
        runpy.run_module(f"bench.{name}", run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
