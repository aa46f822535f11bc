"""CORS from an allow-list: preflights answered at the edge, headers added to allowed origins.

An origin not on the list gets no CORS header at all (the browser then blocks the page from
reading the answer), and its preflight is refused with 403 ``cors_origin_refused``. ``*`` is
accepted only with ENV=local (the settings refuse it elsewhere).
"""

from __future__ import annotations

from collections.abc import Iterable

Headers = list[tuple[bytes, bytes]]

ALLOWED_METHODS = b"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOWED_REQUEST_HEADERS = frozenset(
    {
        "authorization",
        "content-type",
        "accept",
        "accept-language",
        "idempotency-key",
        "x-request-id",
        "traceparent",
        "tracestate",
    }
)
EXPOSED_HEADERS = b"X-Request-Id, Retry-After, X-Error-Code, RateLimit-Remaining"


class CorsPolicy:
    def __init__(
        self, origins: Iterable[str], *, allow_credentials: bool, max_age_seconds: int
    ) -> None:
        origin_list = [o.rstrip("/") for o in origins]
        self._wildcard = "*" in origin_list
        self._origins = frozenset(o.encode("latin-1") for o in origin_list if o != "*")
        self._credentials = allow_credentials
        self._max_age = str(max_age_seconds).encode()

    def allows(self, origin: bytes) -> bool:
        return self._wildcard or origin in self._origins

    def response_headers(self, origin: bytes) -> Headers:
        """Headers for an actual (non-preflight) response to an allowed ``origin``."""
        headers: Headers = [
            (b"access-control-allow-origin", origin),
            (b"vary", b"Origin"),
            (b"access-control-expose-headers", EXPOSED_HEADERS),
        ]
        if self._credentials:
            headers.append((b"access-control-allow-credentials", b"true"))
        return headers

    def preflight_headers(self, origin: bytes, requested_headers: bytes | None) -> Headers | None:
        """Headers of a successful preflight, or None when the preflight must be refused."""
        if not self.allows(origin):
            return None
        allow_headers = b""
        if requested_headers:
            names = [h.strip().lower() for h in requested_headers.decode("latin-1").split(",")]
            names = [n for n in names if n]
            if any(n not in ALLOWED_REQUEST_HEADERS for n in names):
                return None
            allow_headers = ", ".join(names).encode("latin-1")
        headers: Headers = [
            (b"access-control-allow-origin", origin),
            (b"vary", b"Origin"),
            (b"access-control-allow-methods", ALLOWED_METHODS),
            (b"access-control-max-age", self._max_age),
        ]
        if allow_headers:
            headers.append((b"access-control-allow-headers", allow_headers))
        if self._credentials:
            headers.append((b"access-control-allow-credentials", b"true"))
        return headers
