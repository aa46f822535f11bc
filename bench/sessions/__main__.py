"""The sessions benchmark (``python -m bench.sessions``), in one run on one scratch database:

1. nearest 10 chargers among 50k and then 1M: the service's indexed KNN query vs the monolith's
   approach (load every charger, Haversine in Python), p50/p99 and the ratio;
2. ``POST /v1/exclusive-sessions`` through the service, one worker, at 1 and 50 clients.

Prints one JSON line per scenario. Run it alone on a quiet machine: it measures speed (the
server CPU per activation it prints is the figure that holds on a busy one).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

from bench.messaging.isolation import bench_infra
from bench.sessions import activation, geo
from tests.support.migrate import migrate_all


async def main(parts: list[str]) -> int:
    """``parts``: ``activation`` and/or ``geo`` (default both); ``--profile=PATH`` samples the
    service's worker with py-spy during the 50-client activations."""
    profile = next((p.split("=", 1)[1] for p in parts if p.startswith("--profile=")), None)
    chosen = {p for p in parts if not p.startswith("--")} or {"activation", "geo"}
    async with bench_infra() as infra:
        await asyncio.to_thread(migrate_all, infra.database_url)
        if "activation" in chosen:
            await activation.run(infra.database_url, infra.rabbitmq_url, profile=profile)
        if "geo" in chosen:
            await geo.run(infra.database_url)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(asyncio.run(main(sys.argv[1:])))
