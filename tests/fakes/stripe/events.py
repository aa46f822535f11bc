"""Events: created by API operations or the admin API, listed, retrieved, sent as webhooks.

A webhook is ``POST <url>`` with the event JSON and ``Stripe-Signature: t=<ts>,v1=<hex>`` where
``v1 = HMAC-SHA256(secret, f"{t}.{payload}")`` (``stripe.WebhookSignature``'s scheme, so
``stripe.Webhook.construct_event`` accepts it). Several secrets give several ``v1`` entries (a
secret roll); ``timestamp`` lets a test send a stale signature; an event can be sent again
(same id and payload) to test deduplication.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from stripe import WebhookSignature

from tests.fakes.core.runtime import BackgroundTasks, FakeClock
from tests.fakes.stripe import params as p
from tests.fakes.stripe.config import StripeFakeConfig
from tests.fakes.stripe.errors import no_such
from tests.fakes.stripe.listing import page

WEBHOOK_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=5)


def signature_header(payload: str, secrets_: list[str], timestamp: int) -> str:
    header: str = WebhookSignature.generate_signature_header(payload, secrets_[0], timestamp)
    for extra in secrets_[1:]:
        mac = hmac.new(extra.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
        header += f",v1={mac.hexdigest()}"
    return header


@dataclass
class WebhookDelivery:
    event_id: str
    url: str
    timestamp: int
    signature: str
    status: int | None = None
    response_body: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class EventsFake:
    config: StripeFakeConfig
    clock: FakeClock
    tasks: BackgroundTasks
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    deliveries: list[WebhookDelivery] = field(default_factory=list)
    delivered_ok: dict[str, bool] = field(default_factory=dict)
    _session: aiohttp.ClientSession | None = None

    def reset(self) -> None:
        self.events.clear()
        self.deliveries.clear()
        self.delivered_ok.clear()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    def build(
        self,
        type: str,
        obj: dict[str, Any],
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
        account: str | None = None,
        previous_attributes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "id": p.new_id("evt"),
            "object": "event",
            "api_version": self.config.api_version,
            "created": int(self.clock.now()),
            "data": {"object": json.loads(json.dumps(obj))},
            "livemode": False,
            "pending_webhooks": 1 if self.config.webhook_url else 0,
            "request": {"id": request_id, "idempotency_key": idempotency_key},
            "type": type,
        }
        if account is not None:
            event["account"] = account
        if previous_attributes is not None:
            event["data"]["previous_attributes"] = json.loads(json.dumps(previous_attributes))
        self.events[event["id"]] = event
        return event

    def emit(
        self,
        type: str,
        obj: dict[str, Any],
        *,
        request_id: str | None,
        idempotency_key: str | None,
        account: str | None = None,
        previous_attributes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An event caused by an API call; delivered in the background when configured."""
        event = self.build(
            type,
            obj,
            request_id=request_id,
            idempotency_key=idempotency_key,
            account=account,
            previous_attributes=previous_attributes,
        )
        if self.config.webhook_url and self.config.deliver_events:
            self.tasks.spawn(self.send(event, url=self.config.webhook_url))
        return event

    async def send(
        self,
        event: dict[str, Any],
        *,
        url: str,
        secrets_: list[str] | None = None,
        timestamp: int | None = None,
    ) -> WebhookDelivery:
        payload = json.dumps(event, indent=2)
        ts = int(self.clock.now()) if timestamp is None else timestamp
        header = signature_header(payload, secrets_ or [self.config.webhook_secret], ts)
        delivery = WebhookDelivery(event_id=event["id"], url=url, timestamp=ts, signature=header)
        self.deliveries.append(delivery)
        headers = {
            "Stripe-Signature": header,
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        try:
            async with self.session().post(
                url, data=payload.encode(), headers=headers, timeout=WEBHOOK_TIMEOUT
            ) as resp:
                delivery.status = resp.status
                delivery.response_body = (await resp.text())[:2000]
        except (aiohttp.ClientError, TimeoutError) as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
        ok = delivery.status is not None and 200 <= delivery.status < 300
        self.delivered_ok[event["id"]] = self.delivered_ok.get(event["id"], False) or ok
        return delivery

    # ---- API
    def retrieve(self, event_id: str, account: str | None = None) -> dict[str, Any]:
        event = self.events.get(event_id)
        if event is None or event.get("account") != account:
            raise no_such("event", event_id)
        return event

    def list_events(self, params: dict[str, Any], account: str | None = None) -> dict[str, Any]:
        """The events of one account: the platform's, or a connected account's (its
        ``Stripe-Account`` header), as Stripe lists them."""
        types = params.get("types") or ([params["type"]] if params.get("type") else None)
        bounds = p.created_filter(params)
        success = params.get("delivery_success")
        rows = []
        for event in reversed(self.events.values()):
            if event.get("account") != account:
                continue
            if types and not any(_type_matches(event["type"], t) for t in types):
                continue
            if not p.created_matches(event["created"], bounds):
                continue
            if success is not None:
                if event["id"] not in self.delivered_ok:
                    continue
                if self.delivered_ok[event["id"]] != (success == "true"):
                    continue
            rows.append(event)
        return page(rows, params, "/v1/events")


def _type_matches(actual: str, wanted: str) -> bool:
    if wanted.endswith(".*"):
        return actual.startswith(wanted[:-1])
    return actual == wanted
