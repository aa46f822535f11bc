"""The route table: longest whole-segment prefix, per-method rows, admin rewrite, reverse map."""

from __future__ import annotations

import pytest
from gateway.client_ip import ClientIpResolver
from gateway.routes import RouteTable
from gateway.settings import DEFAULT_ROUTES, RouteSpec

TABLE = RouteTable(DEFAULT_ROUTES)


@pytest.mark.parametrize(
    ("method", "path", "upstream", "upstream_path", "route_class", "public"),
    [
        ("GET", "/v1/auth/me", "auth", "/v1/auth/me", "auth", False),
        ("POST", "/v1/auth/otp/start", "auth", "/v1/auth/otp/start", "otp", True),
        ("POST", "/v1/auth/token/refresh", "auth", "/v1/auth/token/refresh", "auth", True),
        ("GET", "/v1/auth/jwks.json", "auth", "/v1/auth/jwks.json", "default", True),
        ("PUT", "/v1/account/consent", "auth", "/v1/account/consent", "default", False),
        ("GET", "/v1/chargers", "sessions", "/v1/chargers", "default", False),
        (
            "POST",
            "/v1/exclusive-sessions/1/arrival",
            "sessions",
            "/v1/exclusive-sessions/1/arrival",
            "default",
            False,
        ),
        ("GET", "/v1/offer-codes/x", "sessions", "/v1/offer-codes/x", "default", False),
        ("GET", "/v1/merchants/", "sessions", "/v1/merchants/", "default", False),
        ("GET", "/v1/wallet", "payments", "/v1/wallet", "default", False),
        ("POST", "/v1/wallet/redeem", "payments", "/v1/wallet/redeem", "money", False),
        ("GET", "/v1/payouts/9", "payments", "/v1/payouts/9", "default", False),
        ("POST", "/v1/payouts", "payments", "/v1/payouts", "money", False),
        ("POST", "/v1/webhooks/stripe", "payments", "/v1/webhooks/stripe", "webhooks", True),
        (
            "POST",
            "/v1/webhooks/twilio/sms",
            "notifications",
            "/v1/webhooks/twilio/sms",
            "webhooks",
            True,
        ),
        (
            "GET",
            "/v1/admin/payments/dead-letters",
            "payments",
            "/v1/admin/dead-letters",
            "default",
            False,
        ),
        ("GET", "/v1/admin/auth", "auth", "/v1/admin", "default", False),
    ],
)
def test_match(
    method: str, path: str, upstream: str, upstream_path: str, route_class: str, public: bool
) -> None:
    match = TABLE.match(method, path)
    assert match is not None
    assert (match.upstream, match.upstream_path) == (upstream, upstream_path)
    assert match.route.route_class == route_class
    assert match.route.public is public


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/v1",
        "/v1/",
        "/v1/authx",
        "/v1/webhooks",
        "/v1/webhooks/stripex",
        "/v1/admin",
        "/v1/admin/nope/x",
        "/healthz",
    ],
)
def test_no_match(path: str) -> None:
    assert TABLE.match("GET", path) is None


def test_admin_routes_are_never_public() -> None:
    table = RouteTable([RouteSpec(prefix="/v1/admin", upstream="admin", public=True)])
    match = table.match("GET", "/v1/admin/auth/x")
    assert match is not None and not match.route.public and match.route.admin


def test_duplicate_rows_are_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        RouteTable(
            [RouteSpec(prefix="/v1/a", upstream="auth"), RouteSpec(prefix="/v1/a", upstream="auth")]
        )


def test_reverse_mapping_of_service_paths() -> None:
    assert (
        TABLE.gateway_path_for("payments", "/v1/admin/dead-letters", "GET")
        == "/v1/admin/payments/dead-letters"
    )
    assert TABLE.gateway_path_for("auth", "/v1/auth/me", "GET") == "/v1/auth/me"
    assert TABLE.gateway_path_for("auth", "/v1/wallet", "GET") is None  # routed to payments
    assert TABLE.gateway_path_for("sessions", "/internal", "GET") is None


def test_client_ip_resolution() -> None:
    none = ClientIpResolver(())
    assert none.resolve("198.51.100.1", ["6.6.6.6"]) == "198.51.100.1"
    lb = ClientIpResolver(("10.0.0.0/8", "2001:db8::/32"))
    assert lb.resolve("10.0.0.5", ["6.6.6.6, 203.0.113.9"]) == "203.0.113.9"
    assert lb.resolve("10.0.0.5", ["6.6.6.6", "203.0.113.9, 10.9.9.9"]) == "203.0.113.9"
    assert lb.resolve("198.51.100.1", ["203.0.113.9"]) == "198.51.100.1"
    assert lb.resolve("10.0.0.5", ["10.0.0.7"]) == "10.0.0.7"
    assert lb.resolve("2001:db8::1", ["2001:db9::5"]) == "2001:db9::5"
    assert lb.resolve("10.0.0.5", ["garbage"]) == "10.0.0.5"


def test_an_undeclared_method_of_a_method_listing_prefix_is_405_not_a_shorter_route() -> None:
    """``POST /v1/auth/jwks.json`` used to fall through to ``/v1/auth`` (a 401 for a public
    route); the prefix lists GET and HEAD only, so the edge answers 405 with ``Allow``."""
    table = RouteTable(DEFAULT_ROUTES)
    assert table.match("POST", "/v1/auth/jwks.json") is None
    assert table.methods_of("/v1/auth/jwks.json") == ("GET", "HEAD")
    assert table.methods_of("/v1/auth/me") == ()
    assert table.match("HEAD", "/v1/auth/jwks.json") is not None
