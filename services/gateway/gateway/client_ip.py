"""Which address is the client: the TCP peer, or what a trusted proxy says it saw.

Only when the peer is one of ``TRUSTED_PROXIES`` is ``X-Forwarded-For`` read, from the right:
the first address that is not itself a trusted proxy is the client (the left part of the header
is whatever the client wrote and proves nothing). Everything else a client sends about its
address is dropped before forwarding; services read ``X-Nerava-Client-Ip`` only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CACHE_LIMIT = 4096


class ClientIpResolver:
    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self._networks: tuple[IpNetwork, ...] = tuple(
            ipaddress.ip_network(c, strict=False) for c in trusted_proxies
        )
        self._trusted_cache: dict[str, bool] = {}

    @property
    def trusts_any_proxy(self) -> bool:
        return bool(self._networks)

    def is_trusted(self, address: str) -> bool:
        cached = self._trusted_cache.get(address)
        if cached is not None:
            return cached
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            trusted = False
        else:
            trusted = any(ip in network for network in self._networks)
        if len(self._trusted_cache) >= _CACHE_LIMIT:
            self._trusted_cache.clear()
        self._trusted_cache[address] = trusted
        return trusted

    def resolve(self, peer: str, forwarded_for: list[str]) -> str:
        """``forwarded_for``: every X-Forwarded-For header value, in order received."""
        if not self._networks or not forwarded_for or not self.is_trusted(peer):
            return peer
        hops = [h.strip() for value in forwarded_for for h in value.split(",")]
        for hop in reversed(hops):
            if not hop:
                continue
            if not _is_ip(hop):
                # A malformed hop: nothing to its left can be trusted; the last trusted
                # proxy is the best we know.
                return peer
            if not self.is_trusted(hop):
                return hop
            peer = hop
        return peer


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
