"""Liveness (``/healthz``) and readiness (``/readyz``) with a timeout per dependency check.

A service registers checks on its app (``register_readiness_check``) in its lifespan. A check is
an async callable that raises when the dependency is not usable; it may return a dict of details.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import JSONResponse, Response

from common.problem import problem_response

ReadinessCheck = Callable[[], Awaitable[dict[str, Any] | None]]

_CHECKS_ATTR = "readiness_checks"


def register_readiness_check(app: FastAPI, name: str, check: ReadinessCheck) -> None:
    checks: dict[str, ReadinessCheck] = getattr(app.state, _CHECKS_ATTR, None) or {}
    checks[name] = check
    setattr(app.state, _CHECKS_ATTR, checks)


async def _run_check(name: str, check: ReadinessCheck, limit_s: float) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(limit_s):
            details = await check()
    except TimeoutError:
        return {"status": "down", "error": f"timed out after {limit_s:g}s"}
    except Exception as exc:  # noqa: BLE001 - a readiness probe reports any failure of a dependency
        return {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
    result: dict[str, Any] = {
        "status": "ok",
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    if details:
        result.update(details)
        if details.get("status") == "down":
            result["status"] = "down"
    return result


async def readiness_report(app: FastAPI, limit_s: float) -> tuple[bool, dict[str, Any]]:
    checks: dict[str, ReadinessCheck] = getattr(app.state, _CHECKS_ATTR, None) or {}
    names = list(checks)
    results = await asyncio.gather(*(_run_check(n, checks[n], limit_s) for n in names))
    report = dict(zip(names, results, strict=True))
    return all(r["status"] == "ok" for r in results), report


def health_router(*, timeout: float) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        return JSONResponse({"status": "ok"})

    @router.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        ready, report = await readiness_report(request.app, timeout)
        if ready:
            return JSONResponse({"status": "ready", "checks": report})
        down = sorted(name for name, r in report.items() if r["status"] != "ok")
        return problem_response(
            status=503,
            code="dependency_unavailable",
            title="Not ready",
            detail="Unavailable: " + ", ".join(down),
            extras={"checks": report, "unavailable": down},
        )

    return router
