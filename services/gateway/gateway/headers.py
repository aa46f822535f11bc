"""Header hygiene at the edge: one pass over the client's headers, one over the upstream's.

Request: hop-by-hop headers (RFC 9110 §7.6.1) and ``Host`` are not forwarded, nor anything a
client could use to lie about where it comes from (``X-Forwarded-*``, ``Forwarded``,
``X-Real-Ip``..., and every ``X-Nerava-*`` header, which only the gateway sets). The headers the
edge needs (``Authorization``, ``Origin``, ``X-Request-Id``, ``Content-Length``...) are picked
up on the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Headers = list[tuple[bytes, bytes]]

_FORWARD = 0
_DROP = 1
_AUTHORIZATION = 2
_ORIGIN = 3
_REQUEST_ID = 4
_CONTENT_LENGTH = 5
_TRANSFER_ENCODING = 6
_FORWARDED_FOR = 7
_CONNECTION = 8
_PREFLIGHT_METHOD = 9
_PREFLIGHT_HEADERS = 10
_TRACEPARENT = 11

HOP_BY_HOP = (
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"proxy-connection",
    b"te",
    b"trailer",
    b"upgrade",
)

_REQUEST_ACTIONS: dict[bytes, int] = {
    **dict.fromkeys(HOP_BY_HOP, _DROP),
    b"host": _DROP,
    b"expect": _DROP,  # 100-continue is settled between the client and the gateway
    b"forwarded": _DROP,
    b"x-forwarded-host": _DROP,
    b"x-forwarded-proto": _DROP,
    b"x-forwarded-port": _DROP,
    b"x-forwarded-prefix": _DROP,
    b"x-forwarded-server": _DROP,
    b"x-real-ip": _DROP,
    b"x-client-ip": _DROP,
    b"x-cluster-client-ip": _DROP,
    b"true-client-ip": _DROP,
    b"cf-connecting-ip": _DROP,
    b"fastly-client-ip": _DROP,
    b"connection": _CONNECTION,
    b"authorization": _AUTHORIZATION,
    b"origin": _ORIGIN,
    b"x-request-id": _REQUEST_ID,
    b"content-length": _CONTENT_LENGTH,
    b"transfer-encoding": _TRANSFER_ENCODING,
    b"x-forwarded-for": _FORWARDED_FOR,
    b"access-control-request-method": _PREFLIGHT_METHOD,
    b"access-control-request-headers": _PREFLIGHT_HEADERS,
    b"traceparent": _TRACEPARENT,
}

_RESPONSE_DROP = frozenset((*HOP_BY_HOP, b"transfer-encoding", b"date", b"server", b"x-request-id"))

GATEWAY_PREFIX = b"x-nerava-"


@dataclass(slots=True)
class IncomingRequest:
    """What the edge learned from the client's headers, and the headers to forward."""

    forward: list[tuple[str, str]] = field(default_factory=list)
    authorization: bytes | None = None
    origin: bytes | None = None
    request_id: bytes | None = None
    content_length: int | None = None
    invalid_content_length: bool = False
    chunked: bool = False
    forwarded_for: list[str] = field(default_factory=list)
    connection_tokens: list[bytes] = field(default_factory=list)
    preflight_method: bytes | None = None
    preflight_headers: bytes | None = None
    has_traceparent: bool = False


def read_request_headers(raw: Headers) -> IncomingRequest:
    incoming = IncomingRequest()
    forward = incoming.forward
    actions = _REQUEST_ACTIONS
    for name, value in raw:
        action = actions.get(name, _FORWARD)
        if action == _FORWARD:
            if name.startswith(GATEWAY_PREFIX):
                continue
            forward.append((name.decode("latin-1"), value.decode("latin-1")))
        elif action == _AUTHORIZATION:
            incoming.authorization = value
            forward.append(("authorization", value.decode("latin-1")))
        elif action == _ORIGIN:
            incoming.origin = value
            forward.append(("origin", value.decode("latin-1")))
        elif action == _CONTENT_LENGTH:
            try:
                length = int(value)
            except ValueError:
                incoming.invalid_content_length = True
                continue
            if length < 0 or (
                incoming.content_length is not None and incoming.content_length != length
            ):
                incoming.invalid_content_length = True
            incoming.content_length = length
            forward.append(("content-length", value.decode("latin-1")))
        elif action == _REQUEST_ID:
            incoming.request_id = value
        elif action == _TRANSFER_ENCODING:
            incoming.chunked = True
        elif action == _FORWARDED_FOR:
            incoming.forwarded_for.append(value.decode("latin-1"))
        elif action == _CONNECTION:
            incoming.connection_tokens.extend(
                t.strip().lower() for t in value.split(b",") if t.strip()
            )
        elif action == _PREFLIGHT_METHOD:
            incoming.preflight_method = value
            forward.append((name.decode("latin-1"), value.decode("latin-1")))
        elif action == _TRACEPARENT:
            incoming.has_traceparent = True
            forward.append(("traceparent", value.decode("latin-1")))
        elif action == _PREFLIGHT_HEADERS:
            incoming.preflight_headers = value
            forward.append((name.decode("latin-1"), value.decode("latin-1")))
    if incoming.connection_tokens:
        named = {t.decode("latin-1") for t in incoming.connection_tokens}
        incoming.forward = [(n, v) for n, v in forward if n not in named]
    return incoming


def response_headers(raw: tuple[tuple[bytes, bytes], ...]) -> Headers:
    """The upstream's response headers minus hop-by-hop ones and those the gateway sets."""
    drop = _RESPONSE_DROP
    headers: Headers = []
    connection_named: set[bytes] | None = None
    for name, value in raw:
        lower = name.lower()
        if lower in drop:
            if lower == b"connection":
                connection_named = {t.strip().lower() for t in value.split(b",")}
            continue
        headers.append((lower, value))
    if connection_named:
        headers = [(n, v) for n, v in headers if n not in connection_named]
    return headers
