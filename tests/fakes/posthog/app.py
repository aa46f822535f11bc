"""The fake PostHog application: ``POST /batch/`` and the shared admin routes."""

from __future__ import annotations

import gzip
import json
import secrets
from typing import Any

from aiohttp import web

from tests.fakes.core.admin import new_app
from tests.fakes.core.faults import FaultRule
from tests.fakes.core.provider import Call, FakeProvider, ProviderError, json_response
from tests.fakes.posthog.config import PostHogFakeConfig


class PostHogApiError(ProviderError):
    def __init__(self, status: int, error_type: str, code: str, detail: str) -> None:
        super().__init__(f"{status} {code}")
        self.status, self.error_type, self.code, self.detail = status, error_type, code, detail

    def to_response(self) -> web.Response:
        return error_response(self.status, self.error_type, self.code, self.detail)


def error_response(status: int, error_type: str, code: str, detail: str) -> web.Response:
    body = {"type": error_type, "code": code, "detail": detail, "attr": None}
    return json_response(body, status=status)


class FakePostHog(FakeProvider):
    name = "posthog"

    def __init__(self, config: PostHogFakeConfig | None = None) -> None:
        super().__init__()
        self.config = config or PostHogFakeConfig()
        self.events: list[dict[str, Any]] = []

    # ---- FakeProvider hooks
    def render_error(self, rule: FaultRule, call: Call) -> web.Response:
        status = rule.status or 503
        code = str(rule.code or ("rate_limited" if status == 429 else "server_error"))
        return error_response(status, "server_error", code, rule.message or "injected fault")

    def reset_state(self) -> None:
        self.events.clear()

    def state_json(self) -> dict[str, Any]:
        return {"events": list(self.events)}

    def config_json(self) -> dict[str, Any]:
        return self.config.to_json()

    def update_config(self, data: dict[str, Any]) -> None:
        self.config.update(data)

    # ---- the capture endpoint
    async def batch(self, call: Call) -> web.Response:
        payload = _json_body(await call.request.read(), call.request.headers)
        api_key = payload.get("api_key")
        if not isinstance(api_key, str) or not secrets.compare_digest(api_key, self.config.api_key):
            raise PostHogApiError(
                401, "authentication_error", "invalid_api_key", "Project API key invalid."
            )
        batch = payload.get("batch")
        if not isinstance(batch, list) or not all(isinstance(e, dict) for e in batch):
            raise PostHogApiError(400, "validation_error", "invalid_payload", "No batch.")
        self.events.extend(batch)
        call.record["events"] = len(batch)
        return json_response({"status": 1})

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/batch/", self.endpoint("batch", self.batch))]


def _json_body(raw: bytes, headers: Any) -> dict[str, Any]:
    try:
        if headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        body = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise PostHogApiError(400, "validation_error", "invalid_payload", str(exc)) from exc
    if not isinstance(body, dict):
        raise PostHogApiError(400, "validation_error", "invalid_payload", "Not an object.")
    return body


def build_app(config: PostHogFakeConfig | None = None) -> web.Application:
    fake = FakePostHog(config)
    app = new_app(fake)
    app.add_routes(fake.routes())
    return app
