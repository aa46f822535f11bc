"""The client address reaches services in ONE header the gateway sets; spoofed ones never do."""

from __future__ import annotations

from tests.support.gateway_stack import StackFactory

PUBLIC = "/v1/webhooks/stripe"
SPOOFED = {
    "X-Forwarded-For": "6.6.6.6",
    "X-Real-Ip": "6.6.6.6",
    "X-Nerava-Client-Ip": "6.6.6.6",
    "X-Nerava-Public-Url": "https://evil.example/",
    "Forwarded": "for=6.6.6.6",
    "X-Forwarded-Host": "evil.example",
    "True-Client-Ip": "6.6.6.6",
}


async def test_spoofed_client_ip_headers_are_dropped(gateway_stack: StackFactory) -> None:
    async with gateway_stack() as stack:
        resp = await stack.client.get(PUBLIC, headers=SPOOFED)
        assert resp.status_code == 200
        received = stack.last("payments")
        assert received.all("x-nerava-client-ip") == ["127.0.0.1"]
        for name in (
            "x-forwarded-for",
            "x-real-ip",
            "forwarded",
            "x-forwarded-host",
            "true-client-ip",
        ):
            assert received.header(name) is None, name
        assert received.all("x-nerava-public-url") == ["http://127.0.0.1:8000/v1/webhooks/stripe"]


async def test_trusted_proxy_hop_is_believed_from_the_right(gateway_stack: StackFactory) -> None:
    async with gateway_stack(trusted_proxies=("127.0.0.0/8", "10.0.0.0/8")) as stack:
        # client wrote "6.6.6.6"; the load balancer 10.1.1.1 appended the real 203.0.113.9.
        headers = {"X-Forwarded-For": "6.6.6.6, 203.0.113.9, 10.1.1.1"}
        await stack.client.get(PUBLIC, headers=headers)
        assert stack.last("payments").all("x-nerava-client-ip") == ["203.0.113.9"]
        assert stack.last("payments").header("x-forwarded-for") is None
        # Garbage in the chain: stop at the last trusted hop.
        await stack.client.get(PUBLIC, headers={"X-Forwarded-For": "6.6.6.6, not-an-ip"})
        assert stack.last("payments").all("x-nerava-client-ip") == ["127.0.0.1"]


async def test_untrusted_peer_forwarded_for_is_ignored(gateway_stack: StackFactory) -> None:
    async with gateway_stack(trusted_proxies=("10.0.0.0/8",)) as stack:
        await stack.client.get(PUBLIC, headers={"X-Forwarded-For": "203.0.113.9"})
        assert stack.last("payments").all("x-nerava-client-ip") == ["127.0.0.1"]
