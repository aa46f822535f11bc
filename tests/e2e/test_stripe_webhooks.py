"""Stripe's deliveries through the real gateway process to payments: the fake Stripe signs as
Stripe does and POSTs to the gateway's public webhook route; the raw bytes reach payments
unchanged and are verified there (stored once; a forged signature is a 400 problem)."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.support.system_stack import RunningStack


async def send(stack: RunningStack, spec: dict[str, Any]) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(stack.url("fake-stripe") + "/__admin/webhooks/send", json=spec) as resp,
    ):
        assert resp.status == 201, await resp.text()
        sent: dict[str, Any] = await resp.json()
        return sent


async def test_a_stripe_delivery_through_the_gateway_is_stored_once(stack: RunningStack) -> None:
    first = await send(stack, {"type": "invoice.paid", "object": {"id": "in_e2e"}})
    [delivery] = first["deliveries"]
    assert delivery["url"].startswith(stack.gateway), delivery
    assert delivery["status"] == 200, delivery
    event_id = first["event"]["id"]
    again = await send(stack, {"event_id": event_id})
    assert again["deliveries"][0]["status"] == 200, again
    assert '"duplicate":true' in again["deliveries"][0]["response_body"]


async def test_a_forged_delivery_is_refused_at_payments(stack: RunningStack) -> None:
    forged = await send(
        stack,
        {
            "type": "invoice.paid",
            "object": {"id": "in_forged"},
            "secrets": ["whsec_not_the_endpoints_secret_0001"],
        },
    )
    [delivery] = forged["deliveries"]
    assert delivery["status"] == 400, delivery
    assert '"code":"webhook_signature_invalid"' in delivery["response_body"]
