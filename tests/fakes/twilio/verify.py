"""Verify v2: start a verification, check a code, fetch and cancel, with Twilio's semantics.

- Starting for a number that has a pending, unexpired verification resends the same code (same
  ``VE`` sid, one more ``send_code_attempts`` entry); the sixth send answers 429 / 60203.
- A wrong code answers 200 ``status="pending"``, ``valid=false``; a right one ``"approved"``.
  Each verification takes ``max_checks`` (5) checks; any further check answers 429 / 60202.
- Approved, cancelled and expired (10 min on the fake clock) verifications are gone: checks and
  fetches answer 404 / 20404, as for an unknown one or a wrong service SID.
- A ``To`` that is not E.164 (or a bad ``Channel`` / ``Code``) answers 400 / 60200.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes.core.provider import Call, json_response
from tests.fakes.twilio.config import TwilioFakeConfig
from tests.fakes.twilio.errors import TwilioApiError, not_found

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
CODE = re.compile(r"^\d{4,10}$")
CHANNELS = ("sms", "call", "email", "whatsapp", "sna")
BASE = "https://verify.twilio.com/v2"


def sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Verification:
    sid: str
    service_sid: str
    to: str
    channel: str
    code: str
    created: float
    expires: float
    status: str = "pending"
    updated: float = 0.0
    sends: list[dict[str, str]] = field(default_factory=list)
    checks: int = 0

    def live(self, now: float) -> bool:
        if self.status == "pending" and now >= self.expires:
            self.status = "expired"
            self.updated = self.expires
        return self.status == "pending"

    def admin_json(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "to": self.to,
            "channel": self.channel,
            "code": self.code,
            "status": self.status,
            "sends": len(self.sends),
            "checks": self.checks,
            "created": self.created,
            "expires": self.expires,
        }


class VerifyFake:
    def __init__(self, config: TwilioFakeConfig) -> None:
        self.config = config
        self.verifications: dict[str, Verification] = {}
        # Each number's verifications, oldest first: a lookup by number reads that number's
        # only, so it costs the same after thousands of sign-ins as after one.
        self.by_to: dict[str, list[Verification]] = {}

    def reset(self) -> None:
        self.verifications.clear()
        self.by_to.clear()

    # ---- lookups
    def _service(self, call: Call) -> str:
        service_sid = call.request.match_info["service_sid"]
        if service_sid != self.config.verify_service_sid:
            raise not_found(self._resource_path(call))
        return service_sid

    @staticmethod
    def _resource_path(call: Call) -> str:
        path = call.request.path
        return path[path.index("/Services") :] if "/Services" in path else path

    def _pending_for(self, service_sid: str, to: str, now: float) -> Verification | None:
        for verification in reversed(self.by_to.get(to, [])):
            if verification.service_sid == service_sid and verification.live(now):
                return verification
        return None

    def last_for(self, to: str) -> Verification | None:
        sent = self.by_to.get(to)
        return sent[-1] if sent else None

    def _resource(self, v: Verification, now: float) -> dict[str, Any]:
        return {
            "sid": v.sid,
            "service_sid": v.service_sid,
            "account_sid": self.config.account_sid,
            "to": v.to,
            "channel": v.channel,
            "status": v.status,
            "valid": v.status == "approved",
            "lookup": {"carrier": None},
            "amount": None,
            "payee": None,
            "send_code_attempts": v.sends,
            "date_created": iso(v.created),
            "date_updated": iso(v.updated or now),
            "sna": None,
            "url": f"{BASE}/Services/{v.service_sid}/Verifications/{v.sid}",
        }

    # ---- endpoints
    async def fetch_service(self, call: Call, now: float) -> web.Response:
        service_sid = self._service(call)
        return json_response(
            {
                "sid": service_sid,
                "account_sid": self.config.account_sid,
                "friendly_name": "Nerava (fake)",
                "code_length": self.config.code_length,
                "lookup_enabled": False,
                "psd2_enabled": False,
                "skip_sms_to_landlines": False,
                "dtmf_input_required": True,
                "tts_name": None,
                "do_not_share_warning_enabled": False,
                "custom_code_enabled": False,
                "push": {},
                "totp": {},
                "default_template_sid": None,
                "whatsapp": {},
                "date_created": iso(0),
                "date_updated": iso(0),
                "url": f"{BASE}/Services/{service_sid}",
                "links": {"verifications": f"{BASE}/Services/{service_sid}/Verifications"},
            }
        )

    async def create(self, call: Call, now: float) -> web.Response:
        service_sid = self._service(call)
        to = call.params.get("To", "")
        channel = call.params.get("Channel", "")
        if not E164.match(to):
            raise TwilioApiError(400, 60200, f"Invalid parameter `To`: {to}")
        if channel not in CHANNELS:
            raise TwilioApiError(400, 60200, f"Invalid parameter `Channel`: {channel}")
        verification = self._pending_for(service_sid, to, now)
        if verification is None:
            digits = "".join(secrets.choice("0123456789") for _ in range(self.config.code_length))
            verification = Verification(
                sid=sid("VE"),
                service_sid=service_sid,
                to=to,
                channel=channel,
                code=digits,
                created=now,
                expires=now + self.config.code_ttl_seconds,
            )
            self.verifications[verification.sid] = verification
            self.by_to.setdefault(to, []).append(verification)
        elif len(verification.sends) >= self.config.max_sends:
            raise TwilioApiError(429, 60203)
        verification.channel = channel
        verification.updated = now
        verification.sends.append({"attempt_sid": sid("VL"), "channel": channel, "time": iso(now)})
        return json_response(self._resource(verification, now), status=201)

    async def check(self, call: Call, now: float) -> web.Response:
        service_sid = self._service(call)
        code = call.params.get("Code", "")
        to = call.params.get("To")
        verification_sid = call.params.get("VerificationSid")
        if not CODE.match(code):
            raise TwilioApiError(400, 60200, "Invalid parameter `Code`")
        if not to and not verification_sid:
            raise TwilioApiError(400, 60200, "Either a 'To' or a 'VerificationSid' must be given")
        if verification_sid:
            verification = self.verifications.get(verification_sid)
            if verification is not None and not verification.live(now):
                verification = None
        else:
            verification = self._pending_for(service_sid, to or "", now)
        if verification is None or verification.service_sid != service_sid:
            raise not_found(self._resource_path(call))
        if verification.checks >= self.config.max_checks:
            raise TwilioApiError(429, 60202)
        verification.checks += 1
        verification.updated = now
        if secrets.compare_digest(code, verification.code):
            verification.status = "approved"
        body = self._resource(verification, now)
        for gone in ("lookup", "send_code_attempts", "url"):
            body.pop(gone)
        body["sna_attempts_error_codes"] = []
        return json_response(body, status=200)

    def _by_sid_or_to(self, call: Call, service_sid: str, now: float) -> Verification:
        key = call.request.match_info["sid"]
        verification = self.verifications.get(key)
        if verification is None and key.startswith("+"):
            verification = self._pending_for(service_sid, key, now)
        if verification is None or not verification.live(now):
            raise not_found(self._resource_path(call))
        return verification

    async def fetch(self, call: Call, now: float) -> web.Response:
        service_sid = self._service(call)
        verification = self._by_sid_or_to(call, service_sid, now)
        return json_response(self._resource(verification, now))

    async def update(self, call: Call, now: float) -> web.Response:
        service_sid = self._service(call)
        status = call.params.get("Status", "")
        if status not in ("canceled", "approved"):
            raise TwilioApiError(400, 60200, f"Invalid parameter `Status`: {status}")
        verification = self._by_sid_or_to(call, service_sid, now)
        verification.status = status
        verification.updated = now
        return json_response(self._resource(verification, now))
