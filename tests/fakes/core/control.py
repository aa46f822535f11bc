"""The typed test-side handle on a running fake, speaking its admin API over HTTP.

Works the same against an in-process fake (fixtures) and a fake started as a process.
"""

from __future__ import annotations

from typing import Any

import aiohttp


class AdminError(RuntimeError):
    """The fake's admin API refused a request."""


class FakeControl:
    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url.rstrip("/")
        self._session = session

    async def _admin(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
    ) -> Any:
        async with self._session.request(
            method, f"{self.url}/__admin/{path}", json=body, params=query or None
        ) as resp:
            payload = await resp.json(content_type=None)
            if resp.status >= 400:
                raise AdminError(f"{method} /__admin/{path} -> {resp.status}: {payload}")
            return payload

    # ---- faults
    async def add_fault(self, **spec: Any) -> dict[str, Any]:
        """Add one rule (see ``tests.fakes.core.faults`` for the fields)."""
        rules: list[dict[str, Any]] = (await self._admin("POST", "faults", spec))["faults"]
        return rules[0]

    async def fail_next(
        self,
        endpoint: str = "*",
        *,
        status: int,
        code: str | int | None = None,
        message: str | None = None,
        times: int | None = 1,
        **extra: Any,
    ) -> dict[str, Any]:
        """Fail the next ``times`` calls of ``endpoint`` with ``status`` and provider ``code``."""
        spec = {"kind": "error", "endpoint": endpoint, "status": status, "times": times}
        spec.update(code=code, message=message, **extra)
        return await self.add_fault(**spec)

    async def add_latency(
        self,
        endpoint: str = "*",
        *,
        seconds: float,
        times: int | None = 1,
        match: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Delay the next ``times`` calls of ``endpoint`` (those whose parameters include
        ``match``) by ``seconds`` before handling them."""
        return await self.add_fault(
            kind="latency", endpoint=endpoint, seconds=seconds, times=times, match=match or {}
        )

    async def commit_then_timeout(
        self, endpoint: str, *, seconds: float = 30.0, times: int | None = 1
    ) -> dict[str, Any]:
        """Perform the next ``times`` calls, then hold the answer back for ``seconds``."""
        return await self.add_fault(
            kind="commit_then_timeout", endpoint=endpoint, seconds=seconds, times=times
        )

    async def disconnect_next(
        self, endpoint: str = "*", *, times: int | None = 1
    ) -> dict[str, Any]:
        """Drop the connection of the next ``times`` calls without performing them."""
        return await self.add_fault(kind="disconnect", endpoint=endpoint, times=times)

    async def clear_faults(self, endpoint: str | None = None) -> None:
        await self._admin("DELETE", "faults", query={"endpoint": endpoint} if endpoint else None)

    # ---- observation
    async def calls(self, endpoint: str | None = None) -> int:
        """Calls that reached ``endpoint`` (all provider endpoints when None) since the reset."""
        if endpoint is None:
            return int((await self._admin("GET", "calls"))["total"])
        return int((await self._admin("GET", "calls", query={"endpoint": endpoint}))["count"])

    async def in_flight(self) -> int:
        """Provider calls the fake is serving right now (a hung call until it ends)."""
        return int((await self._admin("GET", "calls"))["in_flight"])

    async def call_counts(self) -> dict[str, int]:
        counts: dict[str, int] = (await self._admin("GET", "calls"))["calls"]
        return counts

    async def requests(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        query = {"endpoint": endpoint} if endpoint else None
        rows: list[dict[str, Any]] = (await self._admin("GET", "requests", query=query))["requests"]
        return rows

    async def state(self) -> dict[str, Any]:
        state: dict[str, Any] = await self._admin("GET", "state")
        return state

    # ---- lifecycle
    async def reset(self) -> None:
        """Forget all state, faults, counters and pending deliveries; reset the clock."""
        await self._admin("POST", "reset")

    async def configure(self, **settings: Any) -> dict[str, Any]:
        config: dict[str, Any] = await self._admin("POST", "config", settings)
        return config

    async def advance_clock(self, seconds: float) -> float:
        """Move the fake's clock forward (expires codes, idempotency keys...)."""
        return float((await self._admin("POST", "clock", {"advance": seconds}))["now"])

    async def drain(self) -> int:
        """Wait until every callback/webhook delivery the fake started has finished."""
        return int((await self._admin("POST", "drain"))["finished"])
