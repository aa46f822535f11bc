"""No phone number, OTP code or token reaches a log line, across a whole sign-in flow."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from common.logs import ContextFilter, JsonFormatter

from tests.fakes.twilio.control import TwilioControl
from tests.support.auth_service import SettingsFactory, running
from tests.support.samples import random_phone


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.addFilter(ContextFilter("auth"))
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured() -> Iterator[_Capture]:
    handler = _Capture()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


async def test_full_flow_logs_no_phone_code_or_token(
    auth_settings: SettingsFactory, fake_twilio: TwilioControl, captured: _Capture
) -> None:
    phone = random_phone()
    secrets: list[str] = [phone, phone[1:], phone[2:]]
    async with running(auth_settings(log_level="DEBUG")) as auth:
        challenge = (await auth.start(phone)).json()["challenge_id"]
        code = await fake_twilio.last_code_for(phone)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        await auth.verify(challenge, wrong)
        await fake_twilio.fail_next("verification_checks.create", status=503)
        await auth.verify(challenge, code)
        tokens = (await auth.verify(challenge, code)).json()
        refreshed = (
            await auth.post("/v1/auth/token/refresh", {"refresh_token": tokens["refresh_token"]})
        ).json()
        await auth.get("/v1/auth/me", token=refreshed["access_token"])
        await auth.post("/v1/auth/logout", {"scope": "global"}, token=refreshed["access_token"])
        await auth.post("/v1/auth/token/refresh", {"refresh_token": tokens["refresh_token"]})
        codes = [code, wrong]
        secrets += [
            tokens["access_token"],
            tokens["refresh_token"],
            refreshed["access_token"],
            refreshed["refresh_token"],
            tokens["access_token"].split(".")[2],
        ]
    text = "\n".join(captured.lines)
    assert "otp sent" in text and "twilio verify call failed" in text  # the flow was logged
    assert '"twilio_error_code": 503' in text or '"http_status": 503' in text
    for secret in secrets:
        assert secret not in text, f"leaked into logs: {secret[:6]}..."
    for otp in codes:  # bounded, so a 6-digit run inside a hex trace id is not a false alarm
        assert not re.search(rf"(?<![0-9a-f]){otp}(?![0-9a-f])", text), "an OTP code was logged"
