"""Fake Twilio: Verify v2 and Messaging over HTTP, driven through the real ``twilio`` SDK.

Run it as a process (``make run`` does): ``python -m tests.fakes.twilio --port 8010`` (options:
``--account-sid --auth-token --api-key-sid --api-key-secret --verify-service-sid
--messaging-service-sid --from-number --status-callback-url --inbound-webhook-url``; the local
defaults are in :mod:`tests.fakes.twilio.config`). In tests use the ``fake_twilio`` fixture
(:mod:`tests.fakes.fixtures`), a :class:`tests.fakes.twilio.control.TwilioControl`.

Point the SDK at it with ``common.twilio_transport.twilio_http_client(<fake url>)``: requests for
``https://<product>.twilio.com/<path>`` arrive as ``/<product>/<path>`` (``/verify/v2/...``,
``/api/2010-04-01/...``); the bare paths are served too. Every provider call needs HTTP Basic
auth with the account SID + auth token or the API key SID + secret (else 401 / 20003).

Provider endpoints (the names used by counters and faults in brackets):

- ``GET /verify/v2/Services/{VA}`` [services.fetch] (a configuration check)
- ``POST /verify/v2/Services/{VA}/Verifications`` ``To, Channel`` [verifications.create]
- ``POST /verify/v2/Services/{VA}/VerificationCheck`` ``Code, To | VerificationSid``
  [verification_checks.create]
- ``GET /verify/v2/Services/{VA}/Verifications/{VE|To}`` [verifications.fetch]
- ``POST /verify/v2/Services/{VA}/Verifications/{VE|To}`` ``Status=canceled|approved``
  [verifications.update]
- ``POST /api/2010-04-01/Accounts/{AC}/Messages.json`` ``To, From | MessagingServiceSid, Body,
  StatusCallback`` [messages.create]; ``GET .../Messages.json?To=&From=&PageSize=``
  [messages.list]; ``GET .../Messages/{SM}.json`` [messages.fetch]

Verify semantics are Twilio's (details in :mod:`tests.fakes.twilio.verify`): wrong code -> 200
pending; right code -> approved; 6th check -> 429/60202; a restart within 10 minutes resends
the same code, 6th send -> 429/60203; approved/expired/cancelled/unknown or a wrong service SID
-> 404/20404; non-E.164 ``To`` -> 400/60200. A message answers 201 ``queued`` (``accepted``
with a Messaging Service), then the fake POSTs status callbacks ``sent``, ``delivered`` to its
``StatusCallback`` (or the configured ``status_callback_url``), form-encoded and signed with
``X-Twilio-Signature`` (``RequestValidator`` with the auth token, over the URL posted to or the
``signature_url_override``) plus an ``I-Twilio-Idempotency-Token``; validation errors are
21211/21602/21603/21606/21617/21701 as Twilio's (:mod:`tests.fakes.twilio.messaging`).
Error bodies are Twilio's ``{"code", "message", "more_info", "status"}``. Codes are never
logged (the access log is off); tests read them from the admin API.

Admin API (JSON; shared by both fakes unless marked Twilio):

- ``GET /healthz`` liveness.
- ``GET /__admin/calls[?endpoint=E]`` call counters since the last reset (and ``in_flight``:
  calls being served right now).
- ``GET /__admin/requests[?endpoint=E]`` the calls received (params, status, faults applied).
- ``POST /__admin/faults`` one rule or ``{"rules": [...]}``; a rule is ``{"kind", "endpoint"
  ("*" = all), "times" (null = until reset), "status", "code", "message", "seconds", "match"}``
  with kind ``error`` (answer ``status`` with the Twilio error ``code``), ``latency`` (wait
  ``seconds`` first), ``commit_then_timeout`` (perform, then hold the answer ``seconds``),
  ``disconnect`` (drop the connection unperformed), and Twilio's ``delivery_failure`` (the next
  message ends ``error_type`` = ``failed``/``undelivered`` with ErrorCode ``code``, default 30003;
  ``match`` can restrict it, e.g. ``{"To": "+1..."}``); ``GET`` lists,
  ``DELETE[?endpoint=E]`` clears.
- ``POST /__admin/clock {"advance": seconds}`` moves the fake clock (code expiry); ``GET`` reads.
- ``GET /__admin/state`` everything the fake holds (verifications with their codes, messages
  with their status history, every webhook delivery and the answer it got).
- ``GET|POST /__admin/config`` read / change settings (webhook URLs, TTLs, limits).
- ``POST /__admin/drain`` wait until every callback/webhook the fake started was delivered.
- ``POST /__admin/reset`` forget state, faults, counters; reset the clock; end pending hangs.
- Twilio: ``GET /__admin/verify/code?to=+E164`` the latest verification for a number, with the
  code that was "sent".
- Twilio: ``POST /__admin/inbound-sms {"from", "body", "to"?, "url"?, "times"?}`` POSTs a signed
  inbound SMS (Twilio's form fields: From, To, Body, MessageSid, AccountSid, SmsStatus...) to
  ``url`` or the configured ``inbound_webhook_url`` and answers with each delivery's outcome;
  ``times`` > 1 replays the same message with the same idempotency token.
"""
