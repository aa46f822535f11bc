"""Every process of the system starts, is live and ready, as `make run` starts it."""

from __future__ import annotations

import aiohttp
import pytest

from deploy.local.environment import SERVICES
from tests.support.system_stack import RunningStack


async def test_gateway_is_live(stack: RunningStack) -> None:
    async with aiohttp.ClientSession() as http, http.get(stack.gateway + "/healthz") as resp:
        assert resp.status == 200


@pytest.mark.parametrize("service", SERVICES)
async def test_each_service_is_ready(stack: RunningStack, service: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(stack.url(service) + "/readyz") as resp:
        body = await resp.json(content_type=None)
        assert resp.status == 200, body
        assert body["status"] == "ready"
