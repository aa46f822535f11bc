"""The fake Twilio application: Basic auth, Verify and Messaging routes, Twilio admin routes."""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

from aiohttp import web

from tests.fakes.core.admin import admin_error, new_app, read_json
from tests.fakes.core.faults import FaultRule
from tests.fakes.core.provider import Call, FakeProvider, Handler, json_response
from tests.fakes.twilio.config import TwilioFakeConfig
from tests.fakes.twilio.errors import error_response
from tests.fakes.twilio.messaging import MessagingFake
from tests.fakes.twilio.verify import VerifyFake

VERIFY_SERVICE = "/v2/Services/{service_sid}"
MESSAGES = "/2010-04-01/Accounts/{account_sid}/Messages"


class FakeTwilio(FakeProvider):
    name = "twilio"

    def __init__(self, config: TwilioFakeConfig | None = None) -> None:
        super().__init__()
        self.config = config or TwilioFakeConfig()
        self.verify = VerifyFake(self.config)
        self.messaging = MessagingFake(
            self.config, clock=self.clock, faults=self.faults, tasks=self.tasks, pauses=self.pauses
        )

    # ---- FakeProvider hooks
    def _credentials_ok(self, header: str) -> bool:
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        accepted = {
            self.config.account_sid: self.config.auth_token,
            self.config.api_key_sid: self.config.api_key_secret,
        }
        expected = accepted.get(user)
        return expected is not None and secrets.compare_digest(password, expected)

    def authenticate(self, call: Call) -> web.Response | None:
        if not self._credentials_ok(call.request.headers.get("Authorization", "")):
            return error_response(401, 20003)
        account = call.request.match_info.get("account_sid")
        if account is not None and account != self.config.account_sid:
            return error_response(404, 20404, path=call.request.path)
        return None

    def render_error(self, rule: FaultRule, call: Call) -> web.Response:
        status = rule.status or 500
        code = int(rule.code) if rule.code is not None else status
        # A 429 rule's ``seconds`` is sent as ``Retry-After``, as Twilio does when throttling.
        retry_after = rule.seconds if status == 429 and rule.seconds > 0 else None
        return error_response(
            status, code, rule.message, path=call.request.path, retry_after=retry_after
        )

    def reset_state(self) -> None:
        self.verify.reset()
        self.messaging.reset()

    def state_json(self) -> dict[str, Any]:
        return {
            "verifications": [v.admin_json() for v in self.verify.verifications.values()],
            **self.messaging.admin_json(),
        }

    def config_json(self) -> dict[str, Any]:
        return self.config.to_json()

    def update_config(self, data: dict[str, Any]) -> None:
        self.config.update(data)

    # ---- routes
    def _timed(self, handler: Any) -> Handler:
        async def run(call: Call) -> web.Response:
            response: web.Response = await handler(call, self.clock.now())
            return response

        return run

    def routes(self) -> list[web.RouteDef]:
        verify, messaging = self.verify, self.messaging
        table = [
            ("GET", VERIFY_SERVICE, "services.fetch", verify.fetch_service),
            ("POST", VERIFY_SERVICE + "/Verifications", "verifications.create", verify.create),
            (
                "POST",
                VERIFY_SERVICE + "/VerificationCheck",
                "verification_checks.create",
                verify.check,
            ),
            ("GET", VERIFY_SERVICE + "/Verifications/{sid}", "verifications.fetch", verify.fetch),
            (
                "POST",
                VERIFY_SERVICE + "/Verifications/{sid}",
                "verifications.update",
                verify.update,
            ),
            ("POST", MESSAGES + ".json", "messages.create", messaging.create),
            ("GET", MESSAGES + ".json", "messages.list", messaging.list_messages),
            ("GET", MESSAGES + "/{sid}.json", "messages.fetch", messaging.fetch),
        ]
        defs: list[web.RouteDef] = []
        for method, path, endpoint, handler in table:
            serve = self.endpoint(endpoint, self._timed(handler))
            # Served both under the host-named prefix the common transport adapter uses
            # (/verify/v2/..., /api/2010-04-01/...) and bare (/v2/..., /2010-04-01/...).
            product = "/verify" if path.startswith("/v2/") else "/api"
            for prefix in (product, ""):
                defs.append(web.route(method, prefix + path, serve))
        return defs

    async def admin_verify_code(self, request: web.Request) -> web.Response:
        to = request.query.get("to", "")
        verification = self.verify.last_for(to)
        if verification is None:
            return json_response({"error": "no verification was started for this number"}, 404)
        verification.live(self.clock.now())
        return json_response(verification.admin_json())

    async def admin_inbound_sms(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        try:
            result = await self.messaging.inbound(
                from_=str(body.get("from", "")),
                body=str(body.get("body", "")),
                to=body.get("to"),
                url=body.get("url"),
                times=int(body.get("times", 1)),
            )
        except ValueError as exc:
            return admin_error(400, str(exc))
        return json_response(result, status=201)

    def admin_routes(self) -> list[web.RouteDef]:
        return [
            web.get("/__admin/verify/code", self.admin_verify_code),
            web.post("/__admin/inbound-sms", self.admin_inbound_sms),
        ]


def build_app(config: TwilioFakeConfig | None = None) -> web.Application:
    fake = FakeTwilio(config)
    app = new_app(fake)
    app.add_routes(fake.routes())
    app.add_routes(fake.admin_routes())

    async def close_session(_: web.Application) -> None:
        await fake.messaging.close()

    app.on_cleanup.append(close_session)
    return app
