"""The admin API every fake serves (see the provider packages' docstrings for the full list)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tests.fakes.core.faults import FaultRule, FaultSpecError
from tests.fakes.core.provider import FakeProvider, json_response

PROVIDER_KEY: web.AppKey[FakeProvider] = web.AppKey("fake_provider", FakeProvider)


def admin_error(status: int, message: str) -> web.Response:
    return json_response({"error": message}, status=status)


async def read_json(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = json.loads(await request.read())
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"admin body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="admin body must be a JSON object")
    return body


def provider_of(request: web.Request) -> FakeProvider:
    return request.app[PROVIDER_KEY]


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok", "fake": provider_of(request).name})


async def get_calls(request: web.Request) -> web.Response:
    provider = provider_of(request)
    calls = provider.calls
    endpoint = request.query.get("endpoint")
    if endpoint:
        return json_response({"endpoint": endpoint, "count": calls.get(endpoint, 0)})
    return json_response(
        {"calls": dict(calls), "total": sum(calls.values()), "in_flight": provider.in_flight}
    )


async def get_requests(request: web.Request) -> web.Response:
    log = provider_of(request).request_log
    endpoint = request.query.get("endpoint")
    rows = [r for r in log if endpoint is None or r["endpoint"] == endpoint]
    return json_response({"requests": rows})


async def get_faults(request: web.Request) -> web.Response:
    return json_response({"faults": [r.to_json() for r in provider_of(request).faults.rules()]})


async def add_faults(request: web.Request) -> web.Response:
    body = await read_json(request)
    specs = body["rules"] if isinstance(body.get("rules"), list) else [body]
    try:
        rules = [FaultRule.from_json(spec) for spec in specs]
    except FaultSpecError as exc:
        return admin_error(400, str(exc))
    provider = provider_of(request)
    for rule in rules:
        if rule.endpoint != "*" and rule.endpoint not in provider.endpoint_names:
            known = ", ".join(sorted(provider.endpoint_names))
            return admin_error(400, f"unknown endpoint {rule.endpoint!r}; known: *, {known}")
    book = provider.faults
    return json_response({"faults": [book.add(r).to_json() for r in rules]}, status=201)


async def clear_faults(request: web.Request) -> web.Response:
    provider_of(request).faults.clear(request.query.get("endpoint"))
    return json_response({"faults": []})


async def reset(request: web.Request) -> web.Response:
    await provider_of(request).reset()
    return json_response({"reset": True})


async def clock(request: web.Request) -> web.Response:
    provider = provider_of(request)
    if request.method == "POST":
        body = await read_json(request)
        try:
            seconds = float(body.get("advance", 0))
        except (TypeError, ValueError):
            return admin_error(400, "advance must be a number of seconds")
        if seconds < 0:
            return admin_error(400, "the clock only moves forward")
        provider.clock.advance(seconds)
    return json_response({"now": provider.clock.now(), "offset": provider.clock.offset})


async def drain(request: web.Request) -> web.Response:
    finished = await provider_of(request).tasks.drain()
    return json_response({"finished": finished})


async def state(request: web.Request) -> web.Response:
    return json_response(provider_of(request).state_json())


async def config(request: web.Request) -> web.Response:
    provider = provider_of(request)
    if request.method == "POST":
        try:
            provider.update_config(await read_json(request))
        except ValueError as exc:
            return admin_error(400, str(exc))
    return json_response(provider.config_json())


def admin_routes() -> list[web.RouteDef]:
    return [
        web.get("/healthz", healthz),
        web.get("/__admin/calls", get_calls),
        web.get("/__admin/requests", get_requests),
        web.get("/__admin/faults", get_faults),
        web.post("/__admin/faults", add_faults),
        web.delete("/__admin/faults", clear_faults),
        web.post("/__admin/reset", reset),
        web.get("/__admin/clock", clock),
        web.post("/__admin/clock", clock),
        web.post("/__admin/drain", drain),
        web.get("/__admin/state", state),
        web.get("/__admin/config", config),
        web.post("/__admin/config", config),
    ]


def new_app(provider: FakeProvider) -> web.Application:
    app = web.Application()
    app[PROVIDER_KEY] = provider
    app.add_routes(admin_routes())

    async def stop_background(_: web.Application) -> None:
        provider.pauses.release_all()
        await provider.tasks.cancel_all()

    app.on_shutdown.append(stop_background)
    return app
