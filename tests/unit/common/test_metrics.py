from __future__ import annotations

import httpx
from common.metrics import install_metrics
from fastapi import FastAPI


async def test_metrics_count_requests_by_route_template_not_raw_path() -> None:
    app = FastAPI()
    install_metrics(app)

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for thing_id in ("a", "b", "c"):
            assert (await client.get(f"/things/{thing_id}")).status_code == 200
        await client.get("/missing")
        text = (await client.get("/metrics")).text
    assert 'http_requests_total{method="GET",route="/things/{thing_id}",status="200"} 3.0' in text
    assert 'route="unmatched",status="404"' in text
    assert "/things/a" not in text
