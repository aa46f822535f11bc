"""The error tree every service raises from; one place maps it to problem+json.

    AppError                      500 internal_error
    ├── InvalidInput              400 validation_failed
    ├── Unauthorized              401 unauthorized (adds WWW-Authenticate)
    ├── PermissionDenied          403 forbidden
    ├── NotFound                  404 not_found
    ├── Conflict                  409 conflict
    ├── Gone                      410 gone
    ├── PayloadTooLarge           413 payload_too_large
    ├── Unprocessable             422 unprocessable
    ├── TooManyRequests           429 rate_limited (adds Retry-After)
    ├── Unavailable               503 service_unavailable (adds Retry-After when known)
    │   └── DependencyUnavailable 503 dependency_unavailable (Postgres/Redis cannot answer)
    └── UpstreamTimeout           504 upstream_timeout

Services subclass these with their own stable ``code`` values.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar


class AppError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        retry_after: float | None = None,
        headers: dict[str, str] | None = None,
        **extras: Any,
    ) -> None:
        self.detail = detail or self.title
        self.instance_code = code or self.code
        self.retry_after = retry_after
        self.headers = dict(headers or {})
        self.extras = extras
        super().__init__(self.detail)

    def response_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        return headers

    def problem_extras(self) -> dict[str, Any]:
        extras = dict(self.extras)
        if self.retry_after is not None:
            extras["retry_after"] = max(1, math.ceil(self.retry_after))
        return extras


class InvalidInput(AppError):
    status = 400
    code = "validation_failed"
    title = "Invalid input"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"
    title = "Authentication required"

    def response_headers(self) -> dict[str, str]:
        headers = super().response_headers()
        headers.setdefault(
            "WWW-Authenticate",
            f'Bearer error="invalid_token", error_description="{self.instance_code}"',
        )
        return headers


class PermissionDenied(AppError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(AppError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Gone(AppError):
    status = 410
    code = "gone"
    title = "Gone"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class Unprocessable(AppError):
    status = 422
    code = "unprocessable"
    title = "Unprocessable request"


class TooManyRequests(AppError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"


class Unavailable(AppError):
    status = 503
    code = "service_unavailable"
    title = "Service unavailable"


class DependencyUnavailable(Unavailable):
    """A dependency of ours (Postgres, Redis) could not answer: retry, never a user error."""

    code = "dependency_unavailable"
    title = "Service unavailable"


class UpstreamTimeout(AppError):
    status = 504
    code = "upstream_timeout"
    title = "Upstream timed out"
