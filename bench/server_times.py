"""Where a request's time goes: the mean time each service spent on a route in a window, from
the services' own ``/metrics`` (``http_request_duration_seconds``, and the gateway's
``gateway_request_duration_seconds`` per upstream), next to what the client measured."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

# (service, metric, labels): the series a benchmark reads, each as a sum and a count.
Series = tuple[str, str, tuple[tuple[str, str], ...]]


async def totals(
    http: aiohttp.ClientSession, url: Callable[[str], str], series: dict[str, Series]
) -> dict[str, tuple[float, float]]:
    """name -> (seconds, requests) of each series so far."""
    pages: dict[str, str] = {}
    for service in {service for service, _, _ in series.values()}:
        async with http.get(f"{url(service)}/metrics") as response:
            response.raise_for_status()
            pages[service] = await response.text()
    found: dict[str, tuple[float, float]] = {}
    for name, (service, metric, labels) in series.items():
        seconds = requests = 0.0
        for family in text_string_to_metric_families(pages[service]):
            for sample in family.samples:
                if not set(labels) <= set(sample.labels.items()):
                    continue
                if sample.name == f"{metric}_sum":
                    seconds += sample.value
                elif sample.name == f"{metric}_count":
                    requests += sample.value
        found[name] = (seconds, requests)
    return found


class ServerTimes:
    """The mean milliseconds each series spent per request between :meth:`start` and
    :meth:`figures`."""

    def __init__(
        self, http: aiohttp.ClientSession, url: Callable[[str], str], series: dict[str, Series]
    ) -> None:
        self.http, self.url, self.series = http, url, series
        self.before: dict[str, tuple[float, float]] = {}

    async def start(self) -> None:
        self.before = await totals(self.http, self.url, self.series)

    async def figures(self) -> dict[str, float]:
        now = await totals(self.http, self.url, self.series)
        means: dict[str, float] = {}
        for name, (seconds, requests) in now.items():
            then_seconds, then_requests = self.before[name]
            count = requests - then_requests
            means[name] = round((seconds - then_seconds) * 1000 / count, 2) if count else 0.0
        return means
