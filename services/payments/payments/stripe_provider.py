"""``StripePaymentProvider``: the adapter to Stripe v1 through the real SDK, async.

The client. One ``stripe.StripeClient`` per process, built in the lifespan by
:meth:`StripePaymentProvider.from_settings` and closed on shutdown: an explicit
``stripe_version`` (``STRIPE_API_VERSION``, the version the webhook endpoint is pinned to),
``stripe.AIOHTTPClient`` with an ``aiohttp.ClientTimeout`` of a few seconds (the SDK's default
is 80 s; stripe 16's ``HTTPXClient`` warns on httpx 0.28), ``max_network_retries=0`` (the
backbone's retry tiers, the DLQ and the reconciler own every retry; the SDK's automatic key is
random per call and must never be relied on), and the ``*_async`` methods only. Each call also
runs under ``asyncio.timeout`` a second past the HTTP timeout. Every POST is a stored
:class:`payments.stripe_requests.StripeRequest`: OUR deterministic idempotency key and the
exact parameters of the first attempt. Failures are :mod:`payments.stripe_errors` (definitive,
transient, ambiguous); logs carry the operation, key, status, Stripe code and request id, never
the API key or Stripe's message text. Each call is one ``stripe <operation>`` span (with the
key and the outcome) around the aiohttp client span, and counted in ``stripe_calls_total``.

The calls the payments use cases make (handlers see :class:`payments.stripe_objects.StripeApi`
through ``deps.py``; none of them runs inside a database transaction, and every POST is
preceded by the kill-switch check of its caller)::

  Merchant billing
    merchant.created.v1 → customers.create  key customer:<merchant_id>
        store customer id; a replay of the stored request returns the same customer
    PUT /v1/admin/payments/merchants/{id}/billing {payment_method_id}
        → payment_methods.attach  key pm_attach:<customer>:<pm>   (store the RETURNED pm id:
          attaching a test token such as pm_card_visa creates a new one)
        → customers.update        key customer_default:<change_id> (invoice_settings.
          default_payment_method; a PaymentIntent never uses it by itself, so the charge
          names the method explicitly)
    payments.billing.charge {billing_event_id}
        → payment_intents.create (confirm + off_session, card)  key billing:<billing_event_id>
          succeeded → merchant.billed.v1;  processing → wait for payment_intent.* webhooks;
          StripeCardDeclinedError (requires_authentication for 3DS) → merchant.billing_failed.v1;
          StripeTransientError (ambiguous included) → retry tiers 30s/2m/10m, then the DLQ,
          whose replay re-sends the stored request (Stripe answers the first charge's result)
    payment_intent.succeeded / payment_failed webhooks → retrieve_payment_intent (re-fetch)

  Driver payouts
    POST /v1/payouts/account → accounts.create (express, transfers)  key connect_account:<driver>
        → account_links.create  key account_link:<fresh link id>  → {url, expires_at}
    account.updated webhook (Connect: event.account) → retrieve_account;
        can_receive_payouts opens payouts (before that: 409 payout_account_not_ready)
    payments.payouts.execute {payout_id}  (phase 2, the stored request)
        → transfers.create  key payout:<id>, transfer_group payout_<id>, metadata payout_id
          StripeTransfer → succeeded;  StripeDefinitiveError → failed + one reversal credit;
          StripeAmbiguousError (mismatch included) → unknown, never reversed;
          other StripeTransientError → still pending, retried (nothing was executed)
    reconciler / POST /v1/admin/payments/payouts/{id}/reconcile
        key younger than STRIPE_REPLAY_WINDOW_HOURS (20 h) and POSTs allowed → the same stored
        transfers.create
        otherwise → list_transfers(transfer_group) only (transfers cannot be searched);
        one match with metadata.payout_id → succeeded, none after the horizon → failed,
        two or more → frozen + alert, then transfers.reversals.create
        key payout_reversal:<payout>:<transfer> for the duplicate if ops decide so
    transfer.created / transfer.reversed webhooks → retrieve_transfer (re-fetch)

  Webhook backfill
    list_events(types, created_gte, delivery_success=False) for the platform's events (30 days
    back); a connected account's events need ``account=`` (its Stripe-Account), so account
    readiness is rather re-read with retrieve_account for the accounts still not ready.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import aiohttp
import stripe
from opentelemetry import trace
from prometheus_client import CollectorRegistry

from payments import stripe_requests as r
from payments.stripe_circuit import CircuitState, StripeCircuit
from payments.stripe_classification import classify
from payments.stripe_errors import StripeCircuitOpenError
from payments.stripe_metrics import StripeCallMetrics, log_failure, outcome_of
from payments.stripe_objects import (
    StripeAccountLink,
    StripeApi,
    StripeConnectedAccount,
    StripeCustomer,
    StripeEvent,
    StripePaymentIntent,
    StripePaymentMethod,
    StripeTransfer,
    StripeTransferReversal,
)
from payments.stripe_parsing import (
    account_view,
    answer_of,
    customer_view,
    event_view,
    payment_intent_view,
    payment_method_view,
    reversal_view,
    transfer_view,
)
from payments.stripe_requests import StripeRequest
from payments.stripe_settings import StripeSettings

tracer = trace.get_tracer(__name__)
T = TypeVar("T")
MAX_NETWORK_RETRIES = 0
DEADLINE_MARGIN_SECONDS = 1.0
PAGE_SIZE = 100
_SDK_FAILURES = (stripe.StripeError, aiohttp.ClientError, TimeoutError)


class StripePaymentProvider:
    name = "stripe"

    def __init__(
        self,
        client: stripe.StripeClient,
        http_client: stripe.HTTPClient,
        *,
        deadline_seconds: float,
        circuit: StripeCircuit,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self._client = client
        self._http = http_client
        self._deadline = deadline_seconds
        self._metrics = StripeCallMetrics(registry) if registry is not None else None
        self._circuit = circuit
        circuit.on_change = self._circuit_changed

    @classmethod
    def create(
        cls,
        *,
        api_key: str,
        api_version: str,
        timeout_seconds: float,
        connect_timeout_seconds: float,
        api_base: str | None = None,
        circuit: StripeCircuit | None = None,
        registry: CollectorRegistry | None = None,
    ) -> StripePaymentProvider:
        """Build the client; call inside the running event loop (the lifespan)."""
        if timeout_seconds <= 0 or connect_timeout_seconds <= 0:
            raise ValueError("Stripe timeouts must be > 0 seconds")
        http_client = stripe.AIOHTTPClient(
            timeout=aiohttp.ClientTimeout(
                total=timeout_seconds, connect=min(connect_timeout_seconds, timeout_seconds)
            )
        )
        client = stripe.StripeClient(
            api_key,
            stripe_version=api_version,
            base_addresses={"api": api_base} if api_base else None,
            http_client=http_client,
            max_network_retries=MAX_NETWORK_RETRIES,
        )
        return cls(
            client,
            http_client,
            deadline_seconds=timeout_seconds + DEADLINE_MARGIN_SECONDS,
            circuit=circuit or StripeCircuit(),
            registry=registry,
        )

    @classmethod
    def from_settings(
        cls, settings: StripeSettings, *, registry: CollectorRegistry | None = None
    ) -> StripePaymentProvider:
        if settings.stripe_secret_key is None:
            raise ValueError("STRIPE_SECRET_KEY is not set: the Stripe client cannot be built")
        return cls.create(
            api_key=settings.stripe_secret_key.get_secret_value(),
            api_version=settings.stripe_api_version,
            timeout_seconds=settings.stripe_timeout_seconds,
            connect_timeout_seconds=settings.stripe_connect_timeout_seconds,
            api_base=settings.stripe_api_base,
            circuit=StripeCircuit(
                failures_to_open=settings.stripe_circuit_failures,
                open_seconds=settings.stripe_circuit_open_seconds,
            ),
            registry=registry,
        )

    async def close(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]

    # ---------------------------------------------------------------- the one call path
    async def _call(
        self,
        operation: str,
        make_call: Callable[[], Awaitable[T]],
        *,
        key: str | None = None,
        mutating: bool,
    ) -> T:
        started = time.perf_counter()
        with tracer.start_as_current_span(
            f"stripe {operation}", attributes={"stripe.operation": operation}
        ) as span:
            if key is not None:
                span.set_attribute("stripe.idempotency_key", key)
            try:
                self._circuit.admit(operation)
            except StripeCircuitOpenError as refused:
                span.set_attribute("stripe.outcome", outcome_of(refused))
                self._observe(operation, outcome_of(refused), started)
                raise
            try:
                async with asyncio.timeout(self._deadline):
                    result = await make_call()
            except _SDK_FAILURES as exc:
                error = classify(exc, operation=operation, idempotency_key=key, mutating=mutating)
                self._circuit.failed(error)
                outcome = outcome_of(error)
                span.set_attribute("stripe.outcome", outcome)
                span.set_attribute("error.type", type(error).__name__)
                self._observe(operation, outcome, started)
                log_failure(error, exc)
                raise error from exc
            self._circuit.answered()
            span.set_attribute("stripe.outcome", "ok")
        self._observe(operation, "ok", started)
        return result

    async def wait_for_turn(self) -> None:
        await self._circuit.wait_for_turn()

    def _circuit_changed(self, state: CircuitState) -> None:
        if self._metrics is not None:
            self._metrics.circuit_open.set(0 if state is CircuitState.CLOSED else 1)

    def _observe(self, operation: str, outcome: str, started: float) -> None:
        if self._metrics is not None:
            self._metrics.calls.labels(operation, outcome).inc()
            self._metrics.latency.labels(operation).observe(time.perf_counter() - started)

    async def _post(self, request: StripeRequest, expected: str) -> Any:
        if request.operation != expected:
            raise r.StripeRequestError(f"a {request.operation} request sent as {expected}")
        options: Any = {"idempotency_key": request.idempotency_key}
        if request.stripe_account:
            options["stripe_account"] = request.stripe_account
        params: Any = request.params
        target = request.target or ""
        v1 = self._client.v1
        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            r.CUSTOMERS_CREATE: lambda: v1.customers.create_async(params, options),
            r.CUSTOMERS_UPDATE: lambda: v1.customers.update_async(target, params, options),
            r.PAYMENT_METHODS_ATTACH: lambda: v1.payment_methods.attach_async(
                target, params, options
            ),
            r.PAYMENT_INTENTS_CREATE: lambda: v1.payment_intents.create_async(params, options),
            r.ACCOUNTS_CREATE: lambda: v1.accounts.create_async(params, options),
            r.ACCOUNT_LINKS_CREATE: lambda: v1.account_links.create_async(params, options),
            r.TRANSFERS_CREATE: lambda: v1.transfers.create_async(params, options),
            r.TRANSFER_REVERSALS_CREATE: lambda: v1.transfers.reversals.create_async(
                target, params, options
            ),
        }
        return await self._call(
            request.operation, calls[request.operation], key=request.idempotency_key, mutating=True
        )

    async def _get(self, operation: str, make_call: Callable[[], Awaitable[Any]]) -> Any:
        return await self._call(operation, make_call, mutating=False)

    # ---------------------------------------------------------------- POSTs
    async def create_customer(self, request: StripeRequest) -> StripeCustomer:
        return customer_view(await self._post(request, r.CUSTOMERS_CREATE))

    async def attach_payment_method(self, request: StripeRequest) -> StripePaymentMethod:
        return payment_method_view(await self._post(request, r.PAYMENT_METHODS_ATTACH))

    async def set_default_payment_method(self, request: StripeRequest) -> StripeCustomer:
        return customer_view(await self._post(request, r.CUSTOMERS_UPDATE))

    async def charge_off_session(self, request: StripeRequest) -> StripePaymentIntent:
        return payment_intent_view(await self._post(request, r.PAYMENT_INTENTS_CREATE))

    async def create_connected_account(self, request: StripeRequest) -> StripeConnectedAccount:
        return account_view(await self._post(request, r.ACCOUNTS_CREATE))

    async def create_account_link(self, request: StripeRequest) -> StripeAccountLink:
        link = await self._post(request, r.ACCOUNT_LINKS_CREATE)
        return StripeAccountLink(
            url=str(link.url),
            created=int(link.created),
            expires_at=int(link.expires_at),
            answer=answer_of(link),
        )

    async def create_transfer(self, request: StripeRequest) -> StripeTransfer:
        return transfer_view(await self._post(request, r.TRANSFERS_CREATE))

    async def reverse_transfer(self, request: StripeRequest) -> StripeTransferReversal:
        return reversal_view(await self._post(request, r.TRANSFER_REVERSALS_CREATE))

    # ---------------------------------------------------------------- reads
    async def retrieve_customer(self, customer_id: str) -> StripeCustomer:
        v1 = self._client.v1
        return customer_view(
            await self._get("customers.retrieve", lambda: v1.customers.retrieve_async(customer_id))
        )

    async def retrieve_payment_intent(self, payment_intent_id: str) -> StripePaymentIntent:
        v1 = self._client.v1
        return payment_intent_view(
            await self._get(
                "payment_intents.retrieve",
                lambda: v1.payment_intents.retrieve_async(payment_intent_id),
            )
        )

    async def retrieve_account(self, account_id: str) -> StripeConnectedAccount:
        v1 = self._client.v1
        return account_view(
            await self._get("accounts.retrieve", lambda: v1.accounts.retrieve_async(account_id))
        )

    async def retrieve_transfer(self, transfer_id: str) -> StripeTransfer:
        v1 = self._client.v1
        return transfer_view(
            await self._get("transfers.retrieve", lambda: v1.transfers.retrieve_async(transfer_id))
        )

    async def list_transfers(self, transfer_group: str) -> list[StripeTransfer]:
        """Every transfer of the group, newest first (the List API is read-after-write)."""
        found: list[StripeTransfer] = []
        async for item in self._pages(
            "transfers.list",
            self._client.v1.transfers.list_async,
            {"transfer_group": transfer_group},
        ):
            found.append(transfer_view(item))
        return found

    async def retrieve_event(self, event_id: str, *, account: str | None = None) -> StripeEvent:
        options: Any = {"stripe_account": account} if account else {}
        v1 = self._client.v1
        return event_view(
            await self._get(
                "events.retrieve", lambda: v1.events.retrieve_async(event_id, options=options)
            )
        )

    async def list_events(
        self,
        *,
        types: Sequence[str] = (),
        created_gte: int | None = None,
        delivery_success: bool | None = None,
        account: str | None = None,
    ) -> AsyncIterator[StripeEvent]:
        """Events newest first, page by page (Stripe keeps 30 days of them)."""
        query: dict[str, Any] = {}
        if types:
            query["types"] = list(types)
        if created_gte is not None:
            query["created"] = {"gte": created_gte}
        if delivery_success is not None:
            query["delivery_success"] = delivery_success
        options: Any = {"stripe_account": account} if account else {}
        async for item in self._pages(
            "events.list", self._client.v1.events.list_async, query, options
        ):
            yield event_view(item)

    async def _pages(
        self,
        operation: str,
        list_call: Callable[..., Awaitable[Any]],
        query: dict[str, Any],
        options: Any = None,
    ) -> AsyncIterator[Any]:
        params: dict[str, Any] = {**query, "limit": PAGE_SIZE}
        while True:
            page_params = dict(params)

            def fetch(page_params: dict[str, Any] = page_params) -> Awaitable[Any]:
                return list_call(page_params, options) if options else list_call(page_params)

            page = await self._get(operation, fetch)
            for item in page.data:
                yield item
            if not page.has_more or not page.data:
                return
            params["starting_after"] = page.data[-1].id


def _implements_the_port(provider: StripePaymentProvider) -> StripeApi:
    return provider  # mypy checks that the adapter fills the port handlers are typed against
