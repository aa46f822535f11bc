"""Helpers shared by the test suites. Tests import helpers from here, never from a conftest
(conftest files hold fixtures only).

- ``polling``: ``eventually`` (the one way to wait for something to become true)
- ``samples``: ``random_phone``, ``random_ip``, ``unique``
- ``problem_json``: ``problem``, ``assert_retry_after``
- ``http_server``: ``serve`` an ASGI app over real HTTP (uvicorn, ephemeral port)
- ``auth_service``: ``AuthClient``, ``running``, ``sign_in``, ``end_cooldown``, ``SettingsFactory``
- ``gateway_stack``: ``RecordingUpstream``, ``Stack``, ``StackFactory``, ``gateway_settings``,
  ``gateway_server``
- ``messaging_store``: ``Store``, ``messaging_store``; ``ops_cli``: ``run_cli``
- ``system_stack``: ``RunningStack``, ``free_port`` (the e2e stack)
- ``isolation``, ``migrate``: per-run isolation on the real Postgres, RabbitMQ and Redis
- ``jwt_tokens``: signing keys and access tokens; ``spans``: ``captured_spans``
"""
