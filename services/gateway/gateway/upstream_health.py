"""The ``upstreams`` readiness check: each upstream's ``/healthz``, one line per upstream.

By default an unhealthy upstream is reported but does not make the gateway unready: taking
every gateway replica out of the load balancer because payments is down would also cut off
sign-in and everything else. ``READINESS_REQUIRES_UPSTREAMS=true`` makes it required.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from gateway.settings import UPSTREAM_NAMES
from gateway.upstreams import Upstreams


def upstreams_check(upstreams: Upstreams, *, required: bool, timeout: float) -> Any:
    async def probe(name: str) -> dict[str, Any]:
        upstream = upstreams.get(name)
        if upstream is None:
            return {"status": "not_configured"}
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                async with upstream.session.get(upstream.base_url + "/healthz") as resp:
                    await resp.read()
                    status = resp.status
        except TimeoutError:
            return {"status": "down", "url": upstream.base_url, "error": "timed out"}
        except aiohttp.ClientError as exc:
            return {"status": "down", "url": upstream.base_url, "error": type(exc).__name__}
        latency = round((time.perf_counter() - started) * 1000, 2)
        if status != 200:
            return {"status": "down", "url": upstream.base_url, "error": f"HTTP {status}"}
        return {"status": "ok", "url": upstream.base_url, "latency_ms": latency}

    async def check() -> dict[str, Any]:
        results = await asyncio.gather(*(probe(n) for n in UPSTREAM_NAMES))
        breakdown = dict(zip(UPSTREAM_NAMES, results, strict=True))
        unhealthy = sorted(n for n, r in breakdown.items() if r["status"] != "ok")
        report: dict[str, Any] = {"upstreams": breakdown, "unavailable_upstreams": unhealthy}
        if required and unhealthy:
            report["status"] = "down"
        return report

    return check
