"""The fake Stripe application: Bearer auth, idempotency, v1 routes and Stripe admin routes."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.fakes.core.admin import admin_error, new_app, read_json
from tests.fakes.core.faults import FaultRule
from tests.fakes.core.provider import Call, FakeProvider, Handler, json_response
from tests.fakes.stripe import params as p
from tests.fakes.stripe.accounts import AccountsFake
from tests.fakes.stripe.balance import Balance
from tests.fakes.stripe.config import StripeFakeConfig
from tests.fakes.stripe.customers import CustomersFake
from tests.fakes.stripe.errors import StripeApiError, error_body
from tests.fakes.stripe.events import EventsFake
from tests.fakes.stripe.idempotency import IdempotencyStore
from tests.fakes.stripe.payment_intents import PaymentIntentsFake
from tests.fakes.stripe.transfers import TransfersFake

Operation = Callable[[Call, dict[str, Any]], dict[str, Any]]
NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization"
    " header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See"
    " https://stripe.com/docs/api#authentication for details, or we can help at"
    " https://support.stripe.com/."
)
FAULT_DEFAULTS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", None, "Invalid API Key provided."),
    402: ("card_error", "card_declined", "Your card was declined."),
    409: (
        "invalid_request_error",
        "idempotency_key_in_use",
        "There is currently another in-progress request using this Stripe-Account,"
        " Idempotency-Key, and API key. Please try again later.",
    ),
    429: (
        "invalid_request_error",
        "rate_limit",
        "Request rate limit exceeded. Learn more about rate limits here"
        " https://stripe.com/docs/rate-limits.",
    ),
}
SERVER_ERROR = ("api_error", None, "An unknown error occurred")


class FakeStripe(FakeProvider):
    name = "stripe"
    latency_in_operation = True

    def __init__(self, config: StripeFakeConfig | None = None) -> None:
        super().__init__()
        self.config = config or StripeFakeConfig()
        self.balance = Balance(self.config.currency)
        self.events = EventsFake(self.config, self.clock, self.tasks)
        self.idempotency = IdempotencyStore(self.clock, self.config.idempotency_ttl_seconds)
        self.accounts = AccountsFake(events=self.events, clock=self.clock)
        self.customers = CustomersFake(events=self.events, clock=self.clock)
        self.transfers = TransfersFake(
            balance=self.balance, events=self.events, clock=self.clock, accounts=self.accounts
        )
        self.intents = PaymentIntentsFake(
            balance=self.balance,
            events=self.events,
            clock=self.clock,
            faults=self.faults,
            customers=self.customers,
        )
        self.reset_state()

    # ---- FakeProvider hooks
    def _api_key(self, header: str) -> str | None:
        if header.startswith("Bearer "):
            return header[7:].strip() or None
        if header.startswith("Basic "):
            try:
                return base64.b64decode(header[6:]).decode().partition(":")[0] or None
            except (binascii.Error, UnicodeDecodeError):
                return None
        return None

    def authenticate(self, call: Call) -> web.Response | None:
        key = self._api_key(call.request.headers.get("Authorization", ""))
        if key is None:
            return json_response(error_body(type="invalid_request_error", message=NO_KEY), 401)
        if not secrets.compare_digest(key, self.config.api_key):
            shown = f"{key[:8]}{'*' * max(0, len(key) - 12)}{key[-4:]}"
            message = f"Invalid API Key provided: {shown}"
            return json_response(error_body(type="invalid_request_error", message=message), 401)
        return None

    def render_error(self, rule: FaultRule, call: Call) -> web.Response:
        status = rule.status or 500
        err_type, code, message = FAULT_DEFAULTS.get(status, SERVER_ERROR)
        response = json_response(
            error_body(
                type=rule.error_type or err_type,
                code=str(rule.code) if rule.code is not None else code,
                message=rule.message or message,
            ),
            status=status,
        )
        key = call.request.headers.get("Idempotency-Key")
        if rule.cache and key and call.request.method == "POST":
            scope = self._scope(call)
            if self.idempotency.lookup(scope, key) is None:
                self.idempotency.claim(
                    scope,
                    key,
                    self._endpoint_id(call),
                    tuple(call.pairs),
                    call.request_id,
                    strict=self.config.strict_replays,
                )
                self.idempotency.store(scope, key, response)
        return response

    def finish(self, call: Call, response: web.StreamResponse) -> None:
        response.headers["Request-Id"] = call.request_id
        response.headers["Stripe-Version"] = self.config.api_version
        key = call.request.headers.get("Idempotency-Key")
        if key and call.request.method == "POST":
            response.headers["Idempotency-Key"] = key

    def reset_state(self) -> None:
        self.balance.available.clear()
        self.balance.pending.clear()
        self.balance.currency = self.config.currency
        self.balance.set(
            available=self.config.initial_available,
            pending=self.config.initial_pending,
            currency=self.config.currency,
        )
        self.events.reset()
        self.idempotency.reset()
        self.transfers.reset()
        self.intents.reset()
        self.accounts.reset()
        self.customers.reset()

    def state_json(self) -> dict[str, Any]:
        return {
            "transfers": list(self.transfers.transfers.values()),
            "transfer_reversals": list(self.transfers.reversals.values()),
            "payment_intents": list(self.intents.intents.values()),
            "customers": list(self.customers.customers.values()),
            "payment_methods": list(self.customers.payment_methods.values()),
            "accounts": list(self.accounts.accounts.values()),
            "events": list(self.events.events.values()),
            "webhook_deliveries": [d.to_json() for d in self.events.deliveries],
            "balance": self.balance.resource(),
            "idempotency_keys": self.idempotency.admin_json(),
            "idempotency_mismatches": self.idempotency.mismatches,
        }

    def config_json(self) -> dict[str, Any]:
        return self.config.to_json()

    def update_config(self, data: dict[str, Any]) -> None:
        self.config.update(data)
        self.idempotency.ttl_seconds = self.config.idempotency_ttl_seconds

    def account(self) -> dict[str, Any]:
        return {
            "id": "acct_fakeplatform0000000001",
            "object": "account",
            "business_type": "company",
            "charges_enabled": True,
            "payouts_enabled": True,
            "country": "US",
            "default_currency": self.config.currency,
            "details_submitted": True,
            "type": "standard",
        }

    # ---- the idempotent operation runner
    @staticmethod
    def _scope(call: Call) -> str:
        return call.request.headers.get("Stripe-Account") or "platform"

    @staticmethod
    def _endpoint_id(call: Call) -> str:
        path = call.request.path
        return f"{call.request.method} {path[path.index('/v1/') :]}"

    def _op(self, operation: Operation) -> Handler:
        async def run(call: Call) -> web.Response:
            request = call.request
            key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
            scope = self._scope(call)
            call.record["body_sha256"] = hashlib.sha256(await request.read()).hexdigest()
            call.record["stripe_version"] = request.headers.get("Stripe-Version")
            if key:
                claimed = self.idempotency.claim(
                    scope,
                    key,
                    self._endpoint_id(call),
                    tuple(call.pairs),
                    call.request_id,
                    strict=self.config.strict_replays,
                )
                if isinstance(claimed, web.Response):
                    return claimed
            try:
                if call.latency:
                    await self.pauses.sleep(call.latency)
                try:
                    response = json_response(operation(call, p.decode(call.pairs)))
                except StripeApiError as exc:
                    response = exc.to_response()
                    if key and not exc.stored:
                        self.idempotency.forget(scope, key)
                        key = None
            except BaseException:
                if key:
                    self.idempotency.forget(scope, key)
                raise
            if key:
                self.idempotency.store(scope, key, response)
            return response

        return run

    def routes(self) -> list[web.RouteDef]:
        t, i, e = self.transfers, self.intents, self.events
        a, c = self.accounts, self.customers

        def by_id(fn: Callable[[str], dict[str, Any]], name: str = "id") -> Operation:
            return lambda call, _: fn(call.request.match_info[name])

        def scoped(call: Call) -> str | None:
            return call.request.headers.get("Stripe-Account")

        reversals = "/v1/transfers/{id}/reversals"
        methods = "/v1/payment_methods/{id}"
        table: list[tuple[str, str, str, Operation]] = [
            ("POST", "/v1/transfers", "transfers.create", t.create),
            ("GET", "/v1/transfers", "transfers.list", lambda _, q: t.list_transfers(q)),
            ("GET", "/v1/transfers/{id}", "transfers.retrieve", by_id(t.retrieve)),
            ("POST", reversals, "transfers.reversals.create", t.create_reversal),
            ("GET", reversals, "transfers.reversals.list", t.list_reversals),
            ("GET", reversals + "/{reversal}", "transfers.reversals.retrieve", t.retrieve_reversal),
            ("POST", "/v1/payment_intents", "payment_intents.create", i.create),
            ("GET", "/v1/payment_intents/{id}", "payment_intents.retrieve", by_id(i.retrieve)),
            ("POST", "/v1/customers", "customers.create", c.create_customer),
            ("GET", "/v1/customers/{id}", "customers.retrieve", by_id(c.retrieve_customer)),
            ("POST", "/v1/customers/{id}", "customers.update", c.update_customer),
            (
                "GET",
                "/v1/customers/{id}/payment_methods",
                "customers.payment_methods.list",
                c.list_methods,
            ),
            ("GET", methods, "payment_methods.retrieve", by_id(c.retrieve_method)),
            ("POST", methods + "/attach", "payment_methods.attach", c.attach),
            ("POST", methods + "/detach", "payment_methods.detach", c.detach),
            ("POST", "/v1/accounts", "accounts.create", a.create),
            ("GET", "/v1/accounts/{id}", "accounts.retrieve", by_id(a.retrieve)),
            ("POST", "/v1/account_links", "account_links.create", a.create_link),
            ("GET", "/v1/balance", "balance.retrieve", lambda _, __: self.balance.resource()),
            ("GET", "/v1/account", "accounts.retrieve_current", lambda _, __: self.account()),
            ("GET", "/v1/events", "events.list", lambda call, q: e.list_events(q, scoped(call))),
            (
                "GET",
                "/v1/events/{id}",
                "events.retrieve",
                lambda call, _: e.retrieve(call.request.match_info["id"], scoped(call)),
            ),
        ]
        return [
            web.route(method, path, self.endpoint(endpoint, self._op(operation)))
            for method, path, endpoint, operation in table
        ]

    # ---- Stripe admin routes
    async def admin_balance(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        try:
            available = None if body.get("available") is None else int(body["available"])
            pending = None if body.get("pending") is None else int(body["pending"])
        except (TypeError, ValueError):
            return admin_error(400, "available and pending must be integers (minor units)")
        self.balance.set(available=available, pending=pending, currency=body.get("currency"))
        return json_response(self.balance.resource())

    async def admin_send_webhook(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        url = body.get("url") or self.config.webhook_url
        if not url:
            return admin_error(400, "no webhook URL: pass url or configure webhook_url")
        if body.get("event_id"):
            event = self.events.events.get(str(body["event_id"]))
            if event is None:
                return admin_error(404, f"no event {body['event_id']}")
        elif body.get("type"):
            obj = body.get("object") or {}
            if not isinstance(obj, dict):
                return admin_error(400, "object must be a JSON object (the event's data.object)")
            account = body.get("account")
            event = self.events.build(
                str(body["type"]), obj, account=None if account is None else str(account)
            )
        else:
            return admin_error(400, "give either event_id (resend) or type + object (new event)")
        secrets_ = body.get("secrets") or [body.get("secret") or self.config.webhook_secret]
        timestamp = body.get("timestamp")
        if timestamp is None and body.get("age_seconds") is not None:
            timestamp = int(self.clock.now() - float(body["age_seconds"]))
        deliveries = []
        for _ in range(int(body.get("times", 1))):
            delivery = await self.events.send(
                event,
                url=url,
                secrets_=[str(s) for s in secrets_],
                timestamp=None if timestamp is None else int(timestamp),
            )
            deliveries.append(delivery.to_json())
        return json_response({"event": event, "deliveries": deliveries}, status=201)

    async def admin_seed_account(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        account_id = body.get("id")
        if account_id is not None and not str(account_id).startswith("acct_"):
            return admin_error(400, "an account id starts with acct_")
        account = self.accounts.seed(
            None if account_id is None else str(account_id), ready=bool(body.get("ready", True))
        )
        return json_response(account, status=201)

    async def admin_update_account(self, request: web.Request) -> web.Response:
        changes = await read_json(request)
        try:
            account = self.accounts.update(request.match_info["id"], changes)
        except StripeApiError as exc:
            return admin_error(exc.status, str(exc))
        return json_response(account)

    async def onboarding(self, request: web.Request) -> web.Response:
        """The hosted onboarding page an account link opens: finishing it is one visit."""
        try:
            target = self.accounts.visit_link(request.match_info["token"])
        except StripeApiError as exc:
            return admin_error(exc.status, str(exc))
        raise web.HTTPFound(target)

    def admin_routes(self) -> list[web.RouteDef]:
        return [
            web.post("/__admin/balance", self.admin_balance),
            web.post("/__admin/webhooks/send", self.admin_send_webhook),
            web.post("/__admin/accounts", self.admin_seed_account),
            web.post("/__admin/accounts/{id}/update", self.admin_update_account),
            web.get("/connect/onboarding/{token}", self.onboarding),
        ]


def build_app(config: StripeFakeConfig | None = None) -> web.Application:
    fake = FakeStripe(config)
    app = new_app(fake)
    app.add_routes(fake.routes())
    app.add_routes(fake.admin_routes())

    async def close_session(_: web.Application) -> None:
        await fake.events.close()

    app.on_cleanup.append(close_session)
    return app
