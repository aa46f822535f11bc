"""``PostHogControl``: the test-side handle on a fake PostHog (its admin API)."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.fakes.core.control import FakeControl
from tests.fakes.posthog.config import PostHogFakeConfig


class PostHogControl(FakeControl):
    def __init__(self, url: str, session: aiohttp.ClientSession, config: PostHogFakeConfig) -> None:
        super().__init__(url, session)
        self.config = config

    @property
    def api_key(self) -> str:
        return self.config.api_key

    async def events(self) -> list[dict[str, Any]]:
        """Every event the SDK uploaded since the reset, in arrival order."""
        rows: list[dict[str, Any]] = (await self.state())["events"]
        return rows

    async def event_ids(self) -> set[str]:
        """The ``uuid`` of each event received."""
        return {str(e.get("uuid")) for e in await self.events()}
