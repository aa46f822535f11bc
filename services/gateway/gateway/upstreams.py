"""One aiohttp ``ClientSession`` per configured upstream: keep-alive pool, limits, timeouts.

The sessions are lean on purpose: no cookie jar, no automatic ``Accept``/``User-Agent``/
``Accept-Encoding``/``Content-Type`` headers (the client's own are forwarded), no transparent
decompression (bytes pass through as the upstream sent them), and no OpenTelemetry client hooks
(the proxy propagates ``traceparent`` itself).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import aiohttp
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor

from gateway.settings import UPSTREAM_NAMES, GatewaySettings

_SKIP_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")


@dataclass(frozen=True, slots=True)
class Upstream:
    name: str
    base_url: str
    session: aiohttp.ClientSession
    connect_timeout: float
    read_timeout: float


class Upstreams:
    def __init__(self, settings: GatewaySettings) -> None:
        self._settings = settings
        self._by_name: dict[str, Upstream] = {}

    def start(self) -> None:
        for name in UPSTREAM_NAMES:
            base_url = self._settings.upstream_url(name)
            if base_url is None:
                continue
            timeouts = self._settings.timeouts_for(name)
            connector = aiohttp.TCPConnector(
                limit=self._settings.upstream_pool_size,
                limit_per_host=self._settings.upstream_pool_size,
                keepalive_timeout=30,
                ttl_dns_cache=60,
            )
            session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=_SKIP_AUTO_HEADERS,
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeouts.connect_seconds,
                    sock_connect=timeouts.connect_seconds,
                    sock_read=timeouts.read_seconds,
                ),
                raise_for_status=False,
            )
            AioHttpClientInstrumentor.uninstrument_session(session)
            self._by_name[name] = Upstream(
                name=name,
                base_url=base_url,
                session=session,
                connect_timeout=timeouts.connect_seconds,
                read_timeout=timeouts.read_seconds,
            )

    def get(self, name: str) -> Upstream | None:
        return self._by_name.get(name)

    @property
    def configured(self) -> dict[str, Upstream]:
        return dict(self._by_name)

    async def close(self) -> None:
        for upstream in self._by_name.values():
            with contextlib.suppress(aiohttp.ClientError):
                await upstream.session.close()
        self._by_name.clear()
