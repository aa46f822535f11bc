"""Fake PostHog: the capture endpoint the real ``posthog`` SDK uploads its batches to.

Run it as a process: ``python -m tests.fakes.posthog --port 8012`` (``--api-key``; the local
default is in :mod:`tests.fakes.posthog.config`). In tests use the ``fake_posthog`` fixture
(:mod:`tests.fakes.fixtures`), a :class:`tests.fakes.posthog.control.PostHogControl`; point the
SDK's ``host`` at its URL.

Provider endpoint (its name, used by counters and faults, in brackets):

- ``POST /batch/`` [batch] — what ``Posthog.capture`` uploads from its background thread
  (capture mode V0): JSON ``{"api_key", "batch": [{"event", "distinct_id", "properties",
  "timestamp", "uuid", "type"}...], "sent_at", "historical_migration"?}``, gzip-encoded when
  ``Content-Encoding: gzip``. Answers 200 ``{"status": 1}``; an unknown ``api_key`` is 401
  ``{"type": "authentication_error", "code": "invalid_api_key"}`` (the SDK does not retry it);
  a body that is not such JSON is 400. Each accepted event is kept, in arrival order.

Faults (the shared admin API, :mod:`tests.fakes.core.faults`): ``error`` answers ``status``
(the SDK retries 408/429/5xx, then calls ``on_error`` with the batch); ``latency`` holds the
upload (the SDK's queue fills, and it drops); ``disconnect`` drops the connection.
``GET /__admin/state`` lists the events received; ``POST /__admin/reset`` forgets them.
"""
