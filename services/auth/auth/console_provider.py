"""``ConsoleOtpProvider``: codes written to the developer's terminal, for ENV=local only.

Settings refuse it in every other environment. The code goes to stderr directly (never through
logging, whose records may be shipped elsewhere); Twilio's semantics are kept: a resend within
the validity period reuses the code, a wrong code is a negative result, 5 checks at most.
State is in process memory: a restart of the local service forgets pending codes.
"""

from __future__ import annotations

import hmac
import secrets
import sys
import time
from dataclasses import dataclass

from auth.otp_provider import MaxChecksReachedError, ProviderDiagnostics, VerificationNotFoundError
from auth.phone_numbers import mask_e164


@dataclass
class _Pending:
    phone: str
    code: str
    expires_at: float
    checks: int = 0


class ConsoleOtpProvider:
    name = "console"

    def __init__(self, *, code_length: int, ttl_seconds: int, max_checks: int = 5) -> None:
        self._code_length = code_length
        self._ttl = ttl_seconds
        self._max_checks = max_checks
        self._pending: dict[str, _Pending] = {}

    async def start(self, phone_e164: str, *, client_ip: str | None) -> str:
        now = time.monotonic()
        for verification_id, pending in self._pending.items():
            if pending.phone == phone_e164 and pending.expires_at > now:
                self._show(pending)
                return verification_id
        code = "".join(secrets.choice("0123456789") for _ in range(self._code_length))
        verification_id = "CONSOLE" + secrets.token_hex(12)
        pending = _Pending(phone=phone_e164, code=code, expires_at=now + self._ttl)
        self._pending[verification_id] = pending
        self._show(pending)
        return verification_id

    async def check(self, *, verification_id: str, code: str) -> bool:
        pending = self._pending.get(verification_id)
        if pending is None or pending.expires_at <= time.monotonic():
            self._pending.pop(verification_id, None)
            raise VerificationNotFoundError("no pending console verification")
        if pending.checks >= self._max_checks:
            raise MaxChecksReachedError("max check attempts reached")
        pending.checks += 1
        if hmac.compare_digest(code, pending.code):
            del self._pending[verification_id]
            return True
        return False

    async def status(self, verification_id: str) -> str:
        pending = self._pending.get(verification_id)
        if pending is None or pending.expires_at <= time.monotonic():
            raise VerificationNotFoundError("no pending console verification")
        return "max_attempts_reached" if pending.checks >= self._max_checks else "pending"

    async def cancel(self, verification_id: str) -> None:
        self._pending.pop(verification_id, None)

    async def diagnostics(self) -> ProviderDiagnostics:
        return ProviderDiagnostics(provider=self.name, details={"local_only": True})

    async def close(self) -> None:
        self._pending.clear()

    @staticmethod
    def _show(pending: _Pending) -> None:
        sys.stderr.write(
            f"\n[console OTP, ENV=local only] code for {mask_e164(pending.phone)}: "
            f"{pending.code}\n\n"
        )
        sys.stderr.flush()
