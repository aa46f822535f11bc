"""Fake Stripe v1 over HTTP, driven through the real ``stripe`` SDK.

Run it as a process (``make run`` does): ``python -m tests.fakes.stripe --port 8011`` (options:
``--api-key`` (default ``sk_test_local``), ``--webhook-secret`` (``whsec_local_...``),
``--webhook-url``, ``--currency``, ``--available``; see :mod:`tests.fakes.stripe.config`). In
tests use the ``fake_stripe`` fixture (:mod:`tests.fakes.fixtures`), a
:class:`tests.fakes.stripe.control.StripeControl`. Point the SDK at it with
``stripe.StripeClient(key, base_addresses={"api": <fake url>}, http_client=stripe.AIOHTTPClient())``
and the ``*_async`` methods (stripe 16.1's ``HTTPXClient`` passes ``data=`` to httpx 0.28, whose
DeprecationWarning fails a warnings-as-errors test run).

Every call needs ``Authorization: Bearer <api key>`` (401 otherwise) and gets a ``Request-Id``
header. Errors are Stripe's ``{"error": {"type", "code", "message", "param", "decline_code"}}``.
Provider endpoints (names used by counters and faults in brackets):

- ``POST /v1/transfers`` amount, currency, destination (an onboarded connected account of this
  fake), transfer_group, metadata, description [transfers.create]; draws on the available
  balance (400 ``balance_insufficient``; 400 ``insufficient_capabilities_for_transfer`` to an
  account not onboarded). ``GET /v1/transfers/{id}`` [transfers.retrieve];
  ``GET /v1/transfers?transfer_group=&destination=&created[gte]=&limit=&starting_after=``
  [transfers.list] (newest first). Reversals: ``POST|GET /v1/transfers/{id}/reversals``,
  ``GET /v1/transfers/{id}/reversals/{reversal}`` [transfers.reversals.create|list|retrieve]
  (:mod:`tests.fakes.stripe.transfers`).
- ``POST /v1/payment_intents`` amount, currency, customer, payment_method, confirm, off_session,
  metadata [payment_intents.create]; ``GET /v1/payment_intents/{id}`` [payment_intents.retrieve].
  See :mod:`tests.fakes.stripe.payment_intents` for declines (402 ``card_error``).
- Customers and payment methods: ``POST /v1/customers`` [customers.create],
  ``GET|POST /v1/customers/{id}`` [customers.retrieve|update] (``invoice_settings
  [default_payment_method]``), ``GET /v1/customers/{id}/payment_methods``
  [customers.payment_methods.list], ``GET /v1/payment_methods/{id}``,
  ``POST /v1/payment_methods/{id}/attach|detach`` [payment_methods.retrieve|attach|detach]
  (:mod:`tests.fakes.stripe.customers`).
- Connect Express: ``POST /v1/accounts`` [accounts.create], ``GET /v1/accounts/{id}``
  [accounts.retrieve], ``POST /v1/account_links`` [account_links.create]; onboarding and
  ``account.updated`` in :mod:`tests.fakes.stripe.accounts`.
- ``GET /v1/account`` [accounts.retrieve_current] (a credentials check);
- ``GET /v1/balance`` [balance.retrieve]; ``GET /v1/events?type=&types[]=&created=&
  delivery_success=`` [events.list]; ``GET /v1/events/{id}`` [events.retrieve] (the platform's
  events, or a connected account's with its ``Stripe-Account`` header).

Every POST honours ``Idempotency-Key`` with Stripe's rules (:mod:`tests.fakes.stripe.idempotency`):
replay with ``Idempotent-Replayed: true``, 400 ``idempotency_error`` on other params or endpoint
(with ``strict_replays``, the default, also on the same params in another order: a replay must
re-send the same encoded body),
409 ``idempotency_key_in_use`` while the first is executing, keys per account for 24 h (fake
clock); ``GET /__admin/state`` counts the refused replays (``idempotency_mismatches``) and the
request log has each call's ``body_sha256`` and ``stripe_version``, so a test can prove that a
retry re-sent the same bytes.
API operations create events (``transfer.created|reversed``, ``payment_intent.created|succeeded|
payment_failed``, ``customer.created|updated``, ``payment_method.attached|detached``,
``account.updated``), POSTed to ``webhook_url`` when configured, signed as
``stripe.WebhookSignature`` verifies (:mod:`tests.fakes.stripe.events`).

Admin API: the shared one documented in :mod:`tests.fakes.twilio` (``/healthz``,
``/__admin/calls|requests|faults|clock|state|config|drain|reset``), where an ``error`` fault's
``code`` is the Stripe error code, ``error_type`` its type (defaults by status: 500
``api_error``, 429 ``rate_limit``, 409 ``idempotency_key_in_use``, 402 ``card_declined``) and
``cache: true`` stores it under the request's idempotency key; injected latency runs after the
key is claimed (a concurrent retry sees it in flight). Stripe also has:

- fault kind ``card_decline`` (``code`` = decline_code) on ``payment_intents.create``;
- ``POST /__admin/balance {"available", "pending", "currency"}`` sets the balance (minor units);
- ``POST /__admin/webhooks/send`` ``{"type", "object"}`` (a new event) or ``{"event_id"}`` (send
  an existing one again), plus ``url`` (default ``webhook_url``), ``secrets`` (one ``v1`` each,
  for a secret roll), ``timestamp`` / ``age_seconds`` (a stale signature), ``times`` (duplicates);
  answers ``{"event", "deliveries": [{"status", "response_body", "error", "signature"...}]}``.
- ``POST /__admin/accounts`` ``{"id"?, "ready"}`` seeds a connected account;
  ``POST /__admin/accounts/{id}/update`` changes it (``account.updated``); an account link's URL
  (``GET /connect/onboarding/{token}``) finishes onboarding and redirects to ``return_url``.
- ``GET /__admin/state``: transfers, transfer_reversals, payment_intents, customers,
  payment_methods, accounts, events, webhook_deliveries, balance, idempotency_keys,
  idempotency_mismatches.

Fault knobs (shared admin API, typed in :class:`tests.fakes.stripe.control.StripeControl`): fail
the next N calls (``fail_next(..., times=N)``, optionally ``cache=True``), hang or slow them
(``add_latency`` / ``hang``), execute then hold the answer (``commit_then_timeout``), drop the
connection unexecuted (``disconnect_next``), decline (``decline_next``); per-endpoint call
counters (``calls`` / ``call_counts``) and what was actually done (``transfers``, ``charges``,
``transfer_reversals``, ``idempotency_mismatches``).
"""
