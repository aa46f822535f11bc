"""problem+json answers written straight to ASGI ``send`` (the proxy path has no framework).

The body is the same RFC 9457 shape every service returns (``common.problem.problem_body``).
"""

from __future__ import annotations

import json

from common.errors import (
    AppError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    Unavailable,
    UpstreamTimeout,
)
from common.problem import PROBLEM_MEDIA_TYPE, problem_body
from starlette.types import Send

Headers = list[tuple[bytes, bytes]]

_CONTENT_TYPE = (b"content-type", PROBLEM_MEDIA_TYPE.encode())


class UpstreamUnavailable(Unavailable):
    code = "upstream_unavailable"
    title = "Upstream unavailable"


class BadGateway(AppError):
    status = 502
    code = "bad_gateway"
    title = "Bad gateway"


class ReadOnlyMode(Unavailable):
    code = "read_only_mode"
    title = "Read-only mode"


class MethodNotAllowed(AppError):
    status = 405
    code = "method_not_allowed"
    title = "Method not allowed"


class InvalidPath(InvalidInput):
    code = "invalid_path"
    title = "Invalid path"


class CorsOriginRefused(PermissionDenied):
    code = "cors_origin_refused"
    title = "Origin not allowed"


def not_found(path: str) -> NotFound:
    return NotFound(f"No route for {path[:200]}.")


def upstream_unavailable(upstream: str, reason: str) -> UpstreamUnavailable:
    return UpstreamUnavailable(
        f"The {upstream} service is unavailable ({reason}); try again shortly.",
        retry_after=1,
        upstream=upstream,
    )


def upstream_timeout(upstream: str, what: str) -> UpstreamTimeout:
    return UpstreamTimeout(
        f"The {upstream} service did not answer in time ({what}).", upstream=upstream
    )


def bad_gateway(upstream: str, reason: str) -> BadGateway:
    return BadGateway(f"The {upstream} service failed to answer ({reason}).", upstream=upstream)


def payload_too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body exceeds the limit of {limit} bytes.", max_bytes=limit)


async def send_problem(send: Send, error: AppError, extra_headers: Headers) -> None:
    body = json.dumps(
        problem_body(
            status=error.status,
            code=error.instance_code,
            title=error.title,
            detail=error.detail,
            extras=error.problem_extras(),
        ),
        separators=(",", ":"),
    ).encode()
    headers: Headers = [
        _CONTENT_TYPE,
        (b"content-length", b"%d" % len(body)),
        (b"x-error-code", error.instance_code.encode()),
    ]
    for name, value in error.response_headers().items():
        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    headers.extend(extra_headers)
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
