"""uvicorn's httptools protocol with coalesced socket writes (``--http gateway.http_protocol:...``).

uvicorn writes a response's head and its body with two ``transport.write`` calls, i.e. two
``send`` syscalls and two wake-ups of the client per response. Here every write made during one
event-loop turn is joined and handed to the socket once, at the end of that turn: a forwarded
response (head + body sent back to back) costs one syscall. Order is kept, and pending bytes are
flushed before the transport closes.

A request the HTTP parser refuses (a Content-Length that lies, a malformed request line) gets a
400 ``malformed_request`` problem+json like every other error, instead of uvicorn's plain text.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _CoalescingTransport:
    __slots__ = ("_loop", "_pending", "_scheduled", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._scheduled = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._pending.append(bytes(data))
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        pending = self._pending
        if not pending:
            return
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GatewayHttpProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        loop = asyncio.get_running_loop()
        wrapped: Any = _CoalescingTransport(transport, loop)  # type: ignore[arg-type]
        super().connection_made(wrapped)

    def send_400_response(self, msg: str) -> None:
        body = json.dumps(
            {
                "type": "https://docs.nerava.app/problems/malformed_request",
                "title": "Malformed request",
                "status": 400,
                "detail": "The HTTP request could not be parsed.",
                "code": "malformed_request",
            }
        ).encode()
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend(
            [
                b"content-type: application/problem+json\r\n",
                b"x-error-code: malformed_request\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(head))
        self.transport.close()
