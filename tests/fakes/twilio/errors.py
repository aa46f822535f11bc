"""Twilio-shaped error answers: ``{"code", "message", "more_info", "status"}``."""

from __future__ import annotations

from aiohttp import web

from tests.fakes.core.provider import ProviderError, json_response

MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource {path} was not found",
    20429: "Too Many Requests",
    60200: "Invalid parameter",
    60202: "Max check attempts reached",
    60203: "Max send attempts reached",
    60410: "Verification delivery attempt blocked",
    21211: "The 'To' number is not a valid phone number.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
}
DEFAULT_STATUS = {20003: 401, 20404: 404, 20429: 429, 60202: 429, 60203: 429, 60410: 403}


def error_body(status: int, code: int, message: str) -> dict[str, object]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def error_response(
    status: int,
    code: int,
    message: str | None = None,
    path: str = "",
    retry_after: float | None = None,
) -> web.Response:
    text = message or MESSAGES.get(code, "Error").format(path=path)
    body = error_body(status, code, text)
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after))
    if status == 401:
        body["detail"] = "Your AccountSid or AuthToken was incorrect."
        headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
    return json_response(body, status=status, headers=headers)


class TwilioApiError(ProviderError):
    def __init__(self, status: int, code: int, message: str | None = None, path: str = "") -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message
        self.path = path

    def to_response(self) -> web.Response:
        return error_response(self.status, self.code, self.message, self.path)


def not_found(path: str) -> TwilioApiError:
    return TwilioApiError(404, 20404, path=path)
