"""The base of a fake provider: the endpoint wrapper that counts calls and applies faults."""

from __future__ import annotations

import json
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import MultiDict

from tests.fakes.core.faults import FaultBook, FaultRule
from tests.fakes.core.runtime import BackgroundTasks, FakeClock, FakeReset, Pauses

MAX_REQUEST_LOG = 2000


@dataclass
class Call:
    """One provider call as the endpoint sees it (query and form parameters merged)."""

    endpoint: str
    request: web.Request
    pairs: list[tuple[str, str]]
    record: dict[str, Any] = field(default_factory=dict)
    request_id: str = field(default_factory=lambda: "req_" + secrets.token_hex(12))
    # Injected latency the provider applies itself (when ``latency_in_operation``).
    latency: float = 0.0

    @property
    def params(self) -> dict[str, str]:
        flat: dict[str, str] = {}
        for key, value in self.pairs:
            flat.setdefault(key, value)
        return flat

    def all(self, key: str) -> list[str]:
        return [v for k, v in self.pairs if k == key]


class ProviderError(Exception):
    """Raised by a provider handler; the endpoint wrapper answers with :meth:`to_response`."""

    def to_response(self) -> web.Response:
        raise NotImplementedError


Handler = Callable[[Call], Awaitable[web.Response]]


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=json.dumps(body), status=status, content_type="application/json", headers=headers
    )


class FakeProvider:
    """Subclasses add provider routes with :meth:`endpoint` and implement the hooks below."""

    name = "fake"
    # True: injected latency is applied by the provider inside the operation (after claiming an
    # idempotency key, so a concurrent retry sees it in flight) instead of before it.
    latency_in_operation = False

    def __init__(self) -> None:
        self.faults = FaultBook()
        self.calls: Counter[str] = Counter()
        self.in_flight = 0  # provider calls being served right now (a reset does not end them)
        self.request_log: list[dict[str, Any]] = []
        self.clock = FakeClock()
        self.pauses = Pauses()
        self.tasks = BackgroundTasks()
        self.endpoint_names: set[str] = set()

    # ---- hooks
    def authenticate(self, call: Call) -> web.Response | None:
        """Return an error response when the call's credentials are refused."""
        return None

    def render_error(self, rule: FaultRule, call: Call) -> web.Response:
        raise NotImplementedError

    def finish(self, call: Call, response: web.StreamResponse) -> None:
        """Last touch on every provider answer (headers such as Request-Id)."""

    def reset_state(self) -> None:
        raise NotImplementedError

    def state_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def config_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def update_config(self, data: dict[str, Any]) -> None:
        raise NotImplementedError

    # ---- machinery
    async def reset(self) -> None:
        self.pauses.release_all()
        await self.tasks.cancel_all()
        self.faults.clear()
        self.calls.clear()
        self.request_log.clear()
        self.clock.reset()
        self.reset_state()

    def endpoint(
        self, name: str, handler: Handler
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        self.endpoint_names.add(name)

        async def serve(request: web.Request) -> web.StreamResponse:
            self.in_flight += 1
            try:
                return await serve_call(request)
            except FakeReset:
                return json_response({"error": "the fake was reset during this call"}, 503)
            finally:
                self.in_flight -= 1

        async def serve_call(request: web.Request) -> web.StreamResponse:
            pairs = list(request.query.items())
            if request.method in ("POST", "PUT", "PATCH"):
                form: MultiDict[str] = MultiDict()
                for key, value in (await request.post()).items():
                    if isinstance(value, str):
                        form.add(key, value)
                pairs.extend(form.items())
            call = Call(endpoint=name, request=request, pairs=pairs)
            self.calls[name] += 1
            call.record = {
                "endpoint": name,
                "method": request.method,
                "path": request.path,
                "params": [list(p) for p in pairs],
                "idempotency_key": request.headers.get("Idempotency-Key"),
                "request_id": call.request_id,
                "at": self.clock.now(),
                "status": None,
                "faults": [],
            }
            self.request_log.append(call.record)
            del self.request_log[:-MAX_REQUEST_LOG]
            denied = self.authenticate(call)
            if denied is not None:
                call.record["status"] = denied.status
                self.finish(call, denied)
                return denied
            plan = self.faults.plan(name, call.params)
            call.record["faults"] = plan.applied
            if plan.disconnect:
                call.record["status"] = "disconnected"
                if request.transport is not None:
                    request.transport.close()
                return web.Response(status=499)
            if plan.latency and (plan.error is not None or not self.latency_in_operation):
                await self.pauses.sleep(plan.latency)
            else:
                call.latency = plan.latency
            if plan.error is not None:
                response = self.render_error(plan.error, call)
            else:
                try:
                    response = await handler(call)
                except ProviderError as exc:
                    response = exc.to_response()
            if plan.hang_after:
                await self.pauses.sleep(plan.hang_after)
            call.record["status"] = response.status
            self.finish(call, response)
            return response

        return serve
