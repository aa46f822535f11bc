"""The aiohttp transport for the twilio SDK: a real timeout, and an optional local base URL.

:class:`TwilioTransport` is the SDK's ``AsyncTwilioHttpClient`` with three corrections:

- **Re-basing.** The SDK builds absolute URLs on Twilio's hosts
  (``https://verify.twilio.com/v2/...``, ``https://api.twilio.com/2010-04-01/...``) and offers no
  base-URL option. When a service sets ``TWILIO_API_BASE`` (local and test only: the fake Twilio
  of ``tests/fakes/twilio``), every request is re-based: scheme and host are replaced by that
  base and the host's first label becomes the first path segment; Twilio's path and query are
  otherwise kept::

      https://verify.twilio.com/v2/Services/VA.../Verifications
        -> http://127.0.0.1:8010/verify/v2/Services/VA.../Verifications
      https://api.twilio.com/2010-04-01/Accounts/AC.../Messages.json
        -> http://127.0.0.1:8010/api/2010-04-01/Accounts/AC.../Messages.json

- **Timeout.** The SDK's async client ignores its constructor timeout (twilio-python#925); here
  ``timeout`` (seconds, total) applies to every call that passes none. Still wrap each call in
  ``asyncio.timeout`` at the call site: the deadline belongs to the use case.
- **Basic auth** is sent as an ``Authorization`` header (``aiohttp.BasicAuth`` is deprecated).
- **One client span per call**, ``<METHOD> twilio <product>`` with the method, Twilio's host and
  the HTTP status, instead of the generic aiohttp instrumentation (its per-request hooks cost
  more than the rest of the SDK call); form bodies are encoded once, here.

Build it with :func:`twilio_http_client` inside the running loop (a lifespan), pass it as
``twilio.rest.Client(..., http_client=...)``, call the ``*_async`` methods, and ``await
close()`` on shutdown. Transport failures reach the caller as ``aiohttp.ClientError`` or
``TimeoutError``, Twilio's answers as ``twilio.base.exceptions.TwilioException``.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
from opentelemetry import trace
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.request import Request as TwilioRequest
from twilio.http.response import Response

tracer = trace.get_tracer(__name__)
_FORM = "application/x-www-form-urlencoded"


def rebase_twilio_url(url: str, api_base: str) -> str:
    """Rewrite a Twilio API URL onto ``api_base``, keeping the product as the first segment."""
    original = urlsplit(url)
    base = urlsplit(api_base)
    if base.scheme not in ("http", "https") or not base.netloc:
        raise ValueError(f"TWILIO_API_BASE must be an absolute http(s) URL, got {api_base!r}")
    product = (original.hostname or "").split(".", 1)[0]
    path = f"{base.path.rstrip('/')}/{product}{original.path}"
    return urlunsplit((base.scheme, base.netloc, path, original.query, original.fragment))


class TwilioTransport(AsyncTwilioHttpClient):  # type: ignore[misc]
    """``AsyncTwilioHttpClient`` with a real timeout and an optional ``api_base`` (module doc)."""

    def __init__(
        self,
        api_base: str | None = None,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> None:
        if api_base is not None:
            rebase_twilio_url("https://api.twilio.com/", api_base)  # refuse a bad base early
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        super().__init__(pool_connections=True, timeout=timeout, max_retries=max_retries)
        AioHttpClientInstrumentor.uninstrument_session(self.session)
        self.api_base = api_base

    def resolve(self, url: str) -> str:
        return rebase_twilio_url(url, self.api_base) if self.api_base else url

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the SDK's HttpClient signature
        allow_redirects: bool = False,
    ) -> Response:
        if timeout is not None and timeout <= 0:
            raise ValueError(timeout)
        all_headers = dict(headers or {})
        if auth is not None:
            all_headers["Authorization"] = aiohttp.encode_basic_auth(auth[0], auth[1])
        body: str | None = None
        if data:
            body = urlencode(data, doseq=True)
            all_headers["Content-Type"] = _FORM
        seconds = timeout if timeout is not None else self.timeout
        method = method.upper()
        kwargs: dict[str, Any] = {
            "method": method,
            "url": self.resolve(url),
            "params": params,
            "data": body,
            "headers": all_headers,
            "allow_redirects": allow_redirects,
        }
        if seconds is not None:
            kwargs["timeout"] = aiohttp.ClientTimeout(total=seconds)
        if self.logger.isEnabledFor(logging.INFO):
            self.log_request(kwargs)
        self._test_only_last_response = None
        self._test_only_last_request = TwilioRequest(**{**kwargs, "data": data, "auth": auth})
        host = urlsplit(url).hostname or ""
        with tracer.start_as_current_span(
            f"{method} twilio {host.split('.', 1)[0]}",
            kind=trace.SpanKind.CLIENT,
            attributes={"http.request.method": method, "server.address": host},
        ) as span:
            async with self.session.request(**kwargs) as response:
                body_text = await response.text()
            span.set_attribute("http.response.status_code", response.status)
            if response.status >= 400:
                span.set_attribute("error.type", str(response.status))
        if self.logger.isEnabledFor(logging.INFO):
            self.log_response(response.status, response)
        self._test_only_last_response = Response(response.status, body_text, response.headers)
        return self._test_only_last_response


def twilio_http_client(
    api_base: str | None = None, *, timeout: float | None = None, max_retries: int | None = None
) -> TwilioTransport:
    """The async HTTP client to give ``twilio.rest.Client``; re-based when ``api_base`` is set."""
    return TwilioTransport(api_base or None, timeout=timeout, max_retries=max_retries)
