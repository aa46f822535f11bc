"""The trivial upstream of the gateway benchmark (the perf.md anchor): FastAPI returning 76 B.

It also serves the JWKS of the benchmark's signing key, so the gateway can verify the bearer
token of the authenticated scenario. Run as ``uvicorn bench.gateway.upstream_app:app``; the
JWKS document comes from ``BENCH_JWKS`` (JSON).
"""

from __future__ import annotations

import json
import os
from typing import Any

from fastapi import FastAPI

app = FastAPI()
_JWKS: dict[str, Any] = json.loads(os.environ.get("BENCH_JWKS", '{"keys": []}'))


@app.get("/v1/chargers/ping")
@app.get("/v1/chargers/private/ping")
async def ping() -> dict[str, Any]:
    return {"status": "ok", "service": "bench-upstream", "value": 12345, "ok": True}


@app.get("/v1/auth/jwks.json")
async def jwks() -> dict[str, Any]:
    return _JWKS


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
