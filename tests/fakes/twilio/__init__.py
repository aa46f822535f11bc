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

- ``POST /verify/v2/Services/{VA}/Verifications`` ``To, Channel`` [verifications.create]
- ``POST /verify/v2/Services/{VA}/VerificationCheck`` ``Code, To | VerificationSid``
  [verification_checks.create]
- ``GET /verify/v2/Services/{VA}/Verifications/{VE|To}`` [verifications.fetch]
- ``POST /verify/v2/Services/{VA}/Verifications/{VE|To}`` ``Status=canceled|approved``
  [verifications.update]

Verify semantics are Twilio's (details in :mod:`tests.fakes.twilio.verify`): wrong code -> 200
pending; right code -> approved; 6th check -> 429/60202; a restart within 10 minutes resends
the same code, 6th send -> 429/60203; approved/expired/cancelled/unknown or a wrong service SID
-> 404/20404; non-E.164 ``To`` -> 400/60200. Error bodies are Twilio's
``{"code", "message", "more_info", "status"}``. Codes are never logged (the access log is off);
tests read them from the admin API.

Admin API (JSON; shared by both fakes unless marked Twilio):

- ``GET /healthz`` liveness.
- ``GET /__admin/calls[?endpoint=E]`` call counters since the last reset.
- ``GET /__admin/requests[?endpoint=E]`` the calls received (params, status, faults applied).
- ``POST /__admin/faults`` one rule or ``{"rules": [...]}``; a rule is ``{"kind", "endpoint"
  ("*" = all), "times" (null = until reset), "status", "code", "message", "seconds", "match"}``
  with kind ``error`` (answer ``status`` with the Twilio error ``code``), ``latency`` (wait
  ``seconds`` first), ``commit_then_timeout`` (perform, then hold the answer ``seconds``),
  ``disconnect`` (drop the connection unperformed); ``GET`` lists, ``DELETE[?endpoint=E]`` clears.
- ``POST /__admin/clock {"advance": seconds}`` moves the fake clock (code expiry); ``GET`` reads.
- ``GET /__admin/state`` everything the fake holds (verifications with their codes).
- ``GET|POST /__admin/config`` read / change settings (webhook URLs, TTLs, limits).
- ``POST /__admin/drain`` wait until every callback/webhook the fake started was delivered.
- ``POST /__admin/reset`` forget state, faults, counters; reset the clock; end pending hangs.
- Twilio: ``GET /__admin/verify/code?to=+E164`` the latest verification for a number, with the
  code that was "sent".
"""
