"""The one settings class of the gateway service (environment variables, upper case).

Complex values (``ROUTES``, ``RATE_LIMITS``, ``CORS_ALLOWED_ORIGINS``, ``TRUSTED_PROXIES``) are
JSON in the environment, e.g. ``CORS_ALLOWED_ORIGINS='["https://app.nerava.app"]'``.
"""

from __future__ import annotations

import ipaddress
from typing import Literal, Self

from common.jwt_settings import JwtVerificationSettings
from common.settings import RedisSettings, ServiceSettings
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

UpstreamName = Literal["auth", "sessions", "notifications", "payments"]
UPSTREAM_NAMES: tuple[UpstreamName, ...] = ("auth", "sessions", "notifications", "payments")
RouteClass = Literal["auth", "otp", "money", "webhooks", "default"]
ROUTE_CLASSES: tuple[RouteClass, ...] = ("auth", "otp", "money", "webhooks", "default")


class RouteSpec(BaseModel):
    """One row of the route table: a path prefix (whole segments) and what it leads to.

    ``/v1/auth`` matches ``/v1/auth`` and ``/v1/auth/...`` but not ``/v1/authx``. The longest
    prefix wins; among rows with the same prefix, one listing the request's method wins over
    one without ``methods``. ``upstream="admin"`` is the admin rewrite: the segment after the
    prefix names the service and ``/v1/admin/<service>/<rest>`` goes to that service's
    ``/v1/admin/<rest>``; admin routes always require role ``admin``.
    ``read_only_writes``: its writes still pass in emergency read-only mode (they change only
    login-session state: token refresh and logout; see the gateway README).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    prefix: str
    upstream: UpstreamName | Literal["admin"]
    route_class: RouteClass = "default"
    public: bool = False
    methods: tuple[str, ...] | None = None
    read_only_writes: bool = False

    @field_validator("prefix")
    @classmethod
    def _prefix_shape(cls, value: str) -> str:
        if not value.startswith("/") or value.endswith("/") or "//" in value:
            raise ValueError("a route prefix starts with '/', has no empty segment, no final '/'")
        return value

    @field_validator("methods")
    @classmethod
    def _upper_methods(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if value is None else tuple(m.upper() for m in value)


WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

DEFAULT_ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec(prefix="/v1/auth", upstream="auth", route_class="auth"),
    RouteSpec(prefix="/v1/auth/otp", upstream="auth", route_class="otp", public=True),
    RouteSpec(
        prefix="/v1/auth/token/refresh",
        upstream="auth",
        route_class="auth",
        public=True,
        read_only_writes=True,
    ),
    RouteSpec(prefix="/v1/auth/logout", upstream="auth", route_class="auth", read_only_writes=True),
    RouteSpec(prefix="/v1/auth/jwks.json", upstream="auth", public=True, methods=("GET", "HEAD")),
    RouteSpec(prefix="/v1/account", upstream="auth"),
    RouteSpec(prefix="/v1/chargers", upstream="sessions"),
    RouteSpec(prefix="/v1/merchants", upstream="sessions"),
    RouteSpec(prefix="/v1/exclusive-sessions", upstream="sessions"),
    RouteSpec(prefix="/v1/offer-codes", upstream="sessions"),
    RouteSpec(prefix="/v1/wallet", upstream="payments"),
    RouteSpec(prefix="/v1/wallet", upstream="payments", route_class="money", methods=WRITE_METHODS),
    RouteSpec(prefix="/v1/payouts", upstream="payments"),
    RouteSpec(
        prefix="/v1/payouts", upstream="payments", route_class="money", methods=WRITE_METHODS
    ),
    RouteSpec(
        prefix="/v1/webhooks/stripe", upstream="payments", route_class="webhooks", public=True
    ),
    RouteSpec(
        prefix="/v1/webhooks/twilio", upstream="notifications", route_class="webhooks", public=True
    ),
    RouteSpec(prefix="/v1/admin", upstream="admin"),
)


class LimitSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    limit: int = Field(ge=1)
    period_seconds: float = Field(gt=0)
    burst: int | None = Field(default=None, ge=1)


class ClassLimits(BaseModel):
    """The limits of one route class: per client IP, per authenticated user, and the outage mode."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_ip: LimitSpec | None = None
    per_user: LimitSpec | None = None
    fail_open: bool = True


DEFAULT_RATE_LIMITS: dict[RouteClass, ClassLimits] = {
    "auth": ClassLimits(
        per_ip=LimitSpec(limit=60, period_seconds=60, burst=20),
        per_user=LimitSpec(limit=30, period_seconds=60, burst=10),
    ),
    "otp": ClassLimits(per_ip=LimitSpec(limit=10, period_seconds=60, burst=5), fail_open=False),
    "money": ClassLimits(
        per_ip=LimitSpec(limit=60, period_seconds=60, burst=20),
        per_user=LimitSpec(limit=20, period_seconds=60, burst=10),
        fail_open=False,
    ),
    "webhooks": ClassLimits(per_ip=LimitSpec(limit=1200, period_seconds=60, burst=200)),
    "default": ClassLimits(
        per_ip=LimitSpec(limit=1200, period_seconds=60, burst=200),
        per_user=LimitSpec(limit=600, period_seconds=60, burst=100),
    ),
}


class UpstreamTimeouts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    connect_seconds: float = Field(default=2.0, gt=0, le=60)
    read_seconds: float = Field(default=15.0, gt=0, le=600)


class GatewaySettings(ServiceSettings, RedisSettings, JwtVerificationSettings):
    service_name: str = "gateway"
    http_port: int = 8000

    upstream_auth: str | None = None
    upstream_sessions: str | None = None
    upstream_notifications: str | None = None
    upstream_payments: str | None = None
    upstream_timeouts: dict[UpstreamName, UpstreamTimeouts] = Field(default_factory=dict)
    upstream_default_timeouts: UpstreamTimeouts = UpstreamTimeouts()
    upstream_pool_size: int = Field(default=100, ge=1, le=10_000)

    routes: tuple[RouteSpec, ...] = DEFAULT_ROUTES
    rate_limits: dict[RouteClass, ClassLimits] = Field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMITS)
    )
    rate_limit_enabled: bool = True

    trusted_proxies: tuple[str, ...] = ()
    """CIDRs of load balancers in front of the gateway whose X-Forwarded-For is believed."""
    public_base_url: str | None = None
    """How senders reach the gateway (``https://api.nerava.app``); webhooks signatures use it."""

    cors_allowed_origins: tuple[str, ...] = ()
    cors_allow_credentials: bool = False
    cors_max_age_seconds: int = Field(default=600, ge=0, le=86_400)

    max_body_bytes: int = Field(default=1_048_576, ge=1)
    emergency_readonly_mode: bool = False

    token_cache_seconds: float = Field(default=30.0, ge=0, le=300)
    token_cache_size: int = Field(default=10_000, ge=0, le=1_000_000)
    revocation_cache_seconds: float = Field(default=1.0, ge=0, le=30)

    openapi_cache_seconds: float = Field(default=60.0, ge=0)
    readiness_requires_upstreams: bool = False

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)
        return value

    @model_validator(mode="after")
    def _refuse_wildcard_cors(self) -> Self:
        if "*" in self.cors_allowed_origins and self.env.value != "local":
            raise ValueError(
                "CORS_ALLOWED_ORIGINS: '*' is only allowed with ENV=local; list the origins"
            )
        return self

    def upstream_url(self, name: UpstreamName) -> str | None:
        url: str | None = getattr(self, f"upstream_{name}")
        return url.rstrip("/") if url else None

    def timeouts_for(self, name: UpstreamName) -> UpstreamTimeouts:
        return self.upstream_timeouts.get(name, self.upstream_default_timeouts)

    def effective_public_base_url(self) -> str:
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        return f"http://{self.http_host}:{self.http_port}"

    def effective_jwks_url(self) -> str | None:
        """``JWKS_URL`` when set, else auth's JWKS behind ``UPSTREAM_AUTH``."""
        if "jwks_url" in self.model_fields_set:
            return self.jwks_url
        auth = self.upstream_url("auth")
        return f"{auth}/v1/auth/jwks.json" if auth else None

    def unsafe_settings(self) -> list[str]:
        problems = super().unsafe_settings()
        for name in UPSTREAM_NAMES:
            if not self.upstream_url(name):
                problems.append(f"UPSTREAM_{name.upper()}: must be set (the upstream's base URL)")
        if not self.public_base_url or not self.public_base_url.startswith("https://"):
            problems.append(
                "PUBLIC_BASE_URL: must be the https:// URL clients and webhook senders use"
            )
        if not self.cors_allowed_origins:
            problems.append("CORS_ALLOWED_ORIGINS: must list the web origins allowed")
        for origin in self.cors_allowed_origins:
            if not origin.startswith("https://"):
                problems.append(f"CORS_ALLOWED_ORIGINS: {origin!r} is not an https:// origin")
        if not self.rate_limit_enabled:
            problems.append("RATE_LIMIT_ENABLED: must be true")
        closed: tuple[RouteClass, ...] = ("otp", "money")
        for route_class in closed:
            limits = self.rate_limits.get(route_class)
            if limits is None or limits.fail_open:
                problems.append(
                    f"RATE_LIMITS: class {route_class!r} must have limits that fail closed"
                )
        return problems
