"""Every non-public operation of every service refuses an anonymous request at the gateway.

Data-driven: each service's app is built with test settings and its OpenAPI document read, so
an endpoint added later is covered without touching this test. Each operation is mapped to the
path clients use (admin routes get their ``/v1/admin/<service>`` prefix) and sent through a real
gateway without a token: it must be 401 and never reach the upstream. An operation the gateway
cannot route to its own service, or a public one outside the public allow-list, fails the test.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

from gateway.routes import RouteTable
from gateway.settings import DEFAULT_ROUTES, UPSTREAM_NAMES
from pydantic_settings import BaseSettings

from tests.support.gateway_stack import StackFactory
from tests.support.isolation import RunInfra

# Operations served without a token, by design (prefixes as clients see them).
PUBLIC_BY_DESIGN = (
    "/v1/auth/otp/",
    "/v1/auth/token/refresh",
    "/v1/auth/jwks.json",
    "/v1/webhooks/stripe",
    "/v1/webhooks/twilio/",
)
# Settings each service needs explicitly to build its app (only its OpenAPI is read: the app is
# never started, so ENV=local with local stand-ins is enough and needs no credentials).
BUILD_SETTINGS: dict[str, dict[str, Any]] = {"auth": {"otp_provider": "console"}}
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
PLACEHOLDER = "00000000-0000-4000-8000-000000000000"


def _service_openapi(service: str, infra: RunInfra) -> dict[str, Any]:
    main = importlib.import_module(f"{service}.main")
    settings_module = importlib.import_module(f"{service}.settings")
    settings_classes = [
        cls
        for _, cls in inspect.getmembers(settings_module, inspect.isclass)
        if issubclass(cls, BaseSettings) and cls.__module__ == settings_module.__name__
    ]
    assert len(settings_classes) == 1, f"{service}.settings must define one settings class"
    settings = settings_classes[0](
        env="local",
        database_url=infra.database_url,
        redis_url=infra.redis_url,
        redis_key_prefix=infra.redis_prefix,
        rabbitmq_url=infra.rabbitmq_url,
        **BUILD_SETTINGS.get(service, {}),
    )
    app = main.create_app(settings)
    document: dict[str, Any] = app.openapi()
    return document


def _operations(infra: RunInfra) -> list[tuple[str, str, str]]:
    """(service, METHOD, service path) for every operation every service documents."""
    operations = []
    for service in UPSTREAM_NAMES:
        for path, item in _service_openapi(service, infra).get("paths", {}).items():
            for method in METHODS:
                if method in item:
                    operations.append((service, method.upper(), path))
    return operations


async def test_every_protected_operation_rejects_anonymous_requests(
    gateway_stack: StackFactory, infra: RunInfra
) -> None:
    table = RouteTable(DEFAULT_ROUTES)
    unroutable: list[str] = []
    public: list[str] = []
    checked: list[str] = []
    async with gateway_stack() as stack:
        for service, method, path in _operations(infra):
            gateway_path = table.gateway_path_for(service, path, method)
            if gateway_path is None:
                unroutable.append(f"{method} {path} ({service})")
                continue
            match = table.match(method, gateway_path)
            assert match is not None
            if match.route.public:
                public.append(f"{method} {gateway_path}")
                continue
            concrete = re.sub(r"\{[^}]+\}", PLACEHOLDER, gateway_path)
            resp = await stack.client.request(method, concrete, json={})
            assert resp.status_code == 401, f"{method} {concrete} answered {resp.status_code}"
            assert resp.json()["code"] == "token_missing"
            assert "www-authenticate" in resp.headers
            checked.append(f"{method} {gateway_path}")
        assert stack.calls() == 0, "an anonymous request reached an upstream"
    # auth's protected endpoints exist today; the inventory must have found them.
    assert "GET /v1/auth/me" in checked
    assert "GET /v1/admin/auth/otp/diagnostics" in checked
    # payments: the wallet, redemptions and the admin routes (grants, kill switches).
    for operation in (
        "GET /v1/wallet",
        "GET /v1/wallet/transactions",
        "POST /v1/wallet/redemptions",
        "POST /v1/admin/payments/grants",
        "GET /v1/admin/payments/kill-switches",
        "PUT /v1/admin/payments/kill-switches",
        "GET /v1/admin/payments/parked-rewards",
    ):
        assert operation in checked, operation
    assert not unroutable, f"operations the gateway cannot reach (add a route): {unroutable}"
    unexpected = [p for p in public if not p.split(" ", 1)[1].startswith(PUBLIC_BY_DESIGN)]
    assert not unexpected, f"public operations outside the allow-list: {unexpected}"


async def test_every_protected_route_prefix_rejects_anonymous_requests(
    gateway_stack: StackFactory,
) -> None:
    """The route table itself: any path under a protected prefix, any method, is 401 or 403."""
    table = RouteTable(DEFAULT_ROUTES)
    async with gateway_stack() as stack:
        for route in table.routes:
            if route.public:
                continue
            base = route.prefix + ("/payments" if route.admin else "")
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                for path in (base, base + "/anything/" + PLACEHOLDER):
                    match = table.match(method, path)
                    if match is None or match.route.public:
                        continue
                    resp = await stack.client.request(method, path)
                    assert resp.status_code == 401, f"{method} {path}: {resp.status_code}"
        assert stack.calls() == 0
