"""``TwilioWebhookGuard``: is this request really from Twilio, for our public URL?

Twilio signs the URL it requested (the gateway's public one, query string included) and every
form field with the account's auth token (``X-Twilio-Signature``). The gateway passes that URL
as ``X-Nerava-Public-Url``; it must lie under ``PUBLIC_BASE_URL`` at the path this service
serves, and the signature is checked with the SDK's own ``RequestValidator`` over exactly the
form received. The internal URL (``request.url``) is never used. Without an auth token (the
console sender) every webhook is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator


class TwilioWebhookGuard:
    def __init__(
        self, auth_token: str | None, public_base_url: str | None, account_sid: str | None
    ):
        self._validator = RequestValidator(auth_token) if auth_token else None
        self._base = (public_base_url or "").rstrip("/")
        self._account_sid = account_sid

    def verify(
        self,
        *,
        public_url: str | None,
        path: str,
        form: Mapping[str, Sequence[str]],
        signature: str | None,
    ) -> bool:
        if self._validator is None or not self._base or not public_url or not signature:
            return False
        if urlsplit(public_url).path != path or not public_url.startswith(self._base + path):
            return False
        account = form.get("AccountSid", [])
        if self._account_sid and list(account) != [self._account_sid]:
            return False
        params = {name: list(values) for name, values in form.items()}
        return bool(self._validator.validate(public_url, _MultiForm(params), signature))


class _MultiForm(dict[str, list[str]]):
    """A form with repeated fields, in the shape ``RequestValidator`` reads (``getlist``)."""

    def getlist(self, name: str) -> list[str]:
        return self.get(name, [])
