"""Fakes of auth's ports for unit tests of its handlers: the OTP provider (Twilio's place) and
the OTP state (Redis's place), plus the denylist. The unit of work stays the real one, on a
database that cannot be reached: what needs Postgres is the integration tests' business.

``deps_with(...)`` builds the handlers' deps through ``auth.bootstrap.build_deps``, as the
service does, with these fakes passed as overrides.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from auth.bootstrap import build_deps, otp_limits
from auth.deps import Deps
from auth.otp_outcomes import Decision, LiveChallenge, OtpLimits, VerifyAttempt
from auth.otp_provider import ProviderDiagnostics, ProviderError
from auth.settings import AuthSettings
from common.database import make_engine, make_session_factory
from common.direct_sql import open_direct_pool
from common.service import Infrastructure
from common.uow import UnitOfWork
from fastapi import FastAPI

UNREACHABLE_DB = "postgresql+asyncpg://postgres@127.0.0.1:1/nerava"


def unit_settings(**overrides: Any) -> AuthSettings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": UNREACHABLE_DB,
        "otp_provider": "twilio_verify",
        "twilio_account_sid": "AC" + "0" * 32,
        "twilio_api_key_sid": "SK" + "0" * 32,
        "twilio_api_key_secret": "unit-test-secret",
        "twilio_verify_service_sid": "VA" + "0" * 32,
        **overrides,
    }
    return AuthSettings(**values)


@dataclass
class FakeProvider:
    """Answers ``start``/``check`` from queues of results (a value or a ProviderError)."""

    name: str = "fake"
    starts: list[str | ProviderError] = field(default_factory=list)
    checks: list[bool | ProviderError] = field(default_factory=list)
    statuses: list[str | ProviderError] = field(default_factory=list)
    calls: list[tuple[str, Any]] = field(default_factory=list)

    async def start(self, phone_e164: str, *, client_ip: str | None) -> str:
        self.calls.append(("start", phone_e164))
        return _next(self.starts, "VE" + "1" * 32)

    async def check(self, *, verification_id: str, code: str) -> bool:
        self.calls.append(("check", verification_id))
        return _next(self.checks, True)

    async def status(self, verification_id: str) -> str:
        self.calls.append(("status", verification_id))
        return _next(self.statuses, "pending")

    async def cancel(self, verification_id: str) -> None:
        self.calls.append(("cancel", verification_id))

    async def diagnostics(self) -> ProviderDiagnostics:
        return ProviderDiagnostics(provider=self.name)

    async def close(self) -> None:
        return None

    def called(self, operation: str) -> int:
        return sum(1 for name, _ in self.calls if name == operation)


def _next(queue: list[Any], default: Any) -> Any:
    value = queue.pop(0) if queue else default
    if isinstance(value, ProviderError):
        raise value
    return value


@dataclass
class FakeOtpStore:
    """Scripted answers of the OTP state; records every call by name."""

    limits: OtpLimits
    send: Decision = field(default_factory=lambda: Decision("ok", wait_seconds=30))
    live: LiveChallenge | None = None
    attempt: VerifyAttempt = field(
        default_factory=lambda: VerifyAttempt(
            outcome="ok",
            attempts=1,
            phone_hash="ab" * 32,
            verification_id="VE" + "1" * 32,
            phone_ciphertext="",
            phone_key_id="local",
            remaining_ms=500_000,
        )
    )
    wrong: Decision = field(default_factory=lambda: Decision("invalid", remaining=4))
    first_approval: bool = True
    status: str | None = "pending"
    ip_wait: float = 0.0
    unanswered: str | None = None
    calls: list[str] = field(default_factory=list)

    def called(self, name: str) -> int:
        return self.calls.count(name)

    async def begin_send(self, phone_hash: str, ip: str) -> Decision:
        self.calls.append("begin_send")
        return self.send

    async def refund_send(self, phone_hash: str) -> None:
        self.calls.append("refund_send")

    async def live_challenge(self, phone_hash: str) -> LiveChallenge | None:
        self.calls.append("live_challenge")
        return self.live

    async def create_challenge(
        self, *, phone_hash: str, verification_id: str, phone_ciphertext: str, phone_key_id: str
    ) -> tuple[str, int]:
        self.calls.append("create_challenge")
        return "new-challenge-" + "x" * 16, self.limits.ttl_seconds * 1000

    async def set_verification(self, challenge_id: str, verification_id: str) -> None:
        self.calls.append("set_verification")

    async def begin_verify(self, challenge_id: str, ip: str) -> VerifyAttempt:
        self.calls.append("begin_verify")
        return self.attempt

    async def wrong_code(self, challenge_id: str, phone_hash: str) -> Decision:
        self.calls.append("wrong_code")
        return self.wrong

    async def approved(self, challenge_id: str, phone_hash: str) -> bool:
        self.calls.append("approved")
        return self.first_approval

    async def refund_attempt(self, challenge_id: str) -> None:
        self.calls.append("refund_attempt")

    async def exhaust(self, challenge_id: str, phone_hash: str) -> None:
        self.calls.append("exhaust")

    async def challenge_status(self, challenge_id: str) -> str | None:
        self.calls.append("challenge_status")
        return self.status

    async def note_unanswered_check(self, challenge_id: str, code_digest: str) -> None:
        self.calls.append("note_unanswered_check")
        self.unanswered = code_digest

    async def unanswered_check(self, challenge_id: str) -> str | None:
        self.calls.append("unanswered_check")
        return self.unanswered

    async def mark_spent(self, challenge_id: str) -> None:
        self.calls.append("mark_spent")

    async def cooldown_seconds(self, phone_hash: str) -> float:
        self.calls.append("cooldown_seconds")
        return 30.0

    async def hit_ip_limit(self, ip: str, action: str, per_hour: int, burst: int) -> float:
        self.calls.append(f"ip_limit:{action}")
        return self.ip_wait

    async def provider_error_counts(self, hours: int = 24) -> dict[str, int]:
        return {}

    async def ping(self) -> bool:
        return True


@dataclass
class FakeRevocations:
    revoked: list[str] = field(default_factory=list)

    async def revoke(self, session_ids: Iterable[str], *, ttl_seconds: int) -> None:
        self.revoked.extend(session_ids)


@asynccontextmanager
async def deps_with(
    settings: AuthSettings | None = None,
    *,
    provider: FakeProvider | None = None,
    otp: FakeOtpStore | None = None,
) -> AsyncIterator[Deps]:
    """Deps from ``build_deps`` with the fakes, and the real unit of work (and direct pool) on a
    database that refuses connections."""
    settings = settings or unit_settings()
    engine = make_engine(settings, pool_size=1, max_overflow=0)
    infra = Infrastructure(FastAPI(), optional_database=None, optional_cache=None)
    try:
        async with open_direct_pool(settings) as direct:
            yield build_deps(
                settings,
                infra,
                uow=UnitOfWork(make_session_factory(engine), direct_pool=direct),
                otp=otp or FakeOtpStore(otp_limits(settings)),
                provider=provider or FakeProvider(),
                revocations=FakeRevocations(),
            )
    finally:
        await engine.dispose()
