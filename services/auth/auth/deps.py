"""What the auth service's handlers may touch, typed by Protocols.

``bootstrap.build_deps`` builds the real ones (Postgres through the unit of work, Redis, Twilio
or the console provider, key material from settings); unit tests pass fakes of the ports there
(the OTP provider and the OTP state) and keep the real unit of work.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from common.direct_sql import DirectStatement
from messaging.contracts import AnalyticsEmitter, Message
from sqlalchemy.ext.asyncio import AsyncSession

from auth.otp_outcomes import Decision, LiveChallenge, OtpLimits, VerifyAttempt
from auth.otp_provider import OtpProvider
from auth.phone_crypto import EncryptedPhone
from auth.settings import AuthSettings
from auth.signing_keys import AccessToken


class AuthUnitOfWork(Protocol):
    """``async with deps.uow() as tx`` (``common.uow.UnitOfWork``), plus the sign-in's one
    statement on the direct pool: ``await deps.uow.direct(statement, params)``."""

    def __call__(self) -> AbstractAsyncContextManager[AsyncSession]: ...

    async def direct(self, statement: DirectStatement, params: Mapping[str, Any]) -> Any: ...


class OtpStore(Protocol):
    """Challenges and limits (``auth.otp_state.OtpState`` on Redis). Every method fails closed:
    an unreachable store is ``DependencyUnavailableError``."""

    limits: OtpLimits

    async def begin_send(self, phone_hash: str, ip: str) -> Decision: ...
    async def refund_send(self, phone_hash: str) -> None: ...
    async def live_challenge(self, phone_hash: str) -> LiveChallenge | None: ...
    async def create_challenge(
        self, *, phone_hash: str, verification_id: str, phone_ciphertext: str, phone_key_id: str
    ) -> tuple[str, int]: ...
    async def set_verification(self, challenge_id: str, verification_id: str) -> None: ...
    async def begin_verify(self, challenge_id: str, ip: str) -> VerifyAttempt: ...
    async def wrong_code(self, challenge_id: str, phone_hash: str) -> Decision: ...
    async def approved(self, challenge_id: str, phone_hash: str) -> bool: ...
    async def refund_attempt(self, challenge_id: str) -> None: ...
    async def exhaust(self, challenge_id: str, phone_hash: str) -> None: ...
    async def challenge_status(self, challenge_id: str) -> str | None: ...
    async def note_unanswered_check(self, challenge_id: str, code_digest: str) -> None: ...
    async def unanswered_check(self, challenge_id: str) -> str | None: ...
    async def mark_spent(self, challenge_id: str) -> None: ...
    async def cooldown_seconds(self, phone_hash: str) -> float: ...
    async def hit_ip_limit(self, ip: str, action: str, per_hour: int, burst: int) -> float: ...
    async def provider_error_counts(self, hours: int = 24) -> dict[str, int]: ...
    async def ping(self) -> bool: ...


class Phones(Protocol):
    """Phone encryption and lookup hashes (``auth.phone_crypto.PhoneCipher``)."""

    @property
    def lookup_key_rotating(self) -> bool: ...
    def lookup_hash(self, e164: str) -> bytes: ...
    def previous_lookup_hashes(self, e164: str) -> list[bytes]: ...
    def encrypt(self, e164: str) -> EncryptedPhone: ...
    def decrypt(self, encrypted: EncryptedPhone) -> str: ...


class ActiveKey(Protocol):
    @property
    def kid(self) -> str: ...


class TokenSigner(Protocol):
    """Access-token signing and the published keys (``auth.signing_keys.KeySet``)."""

    @property
    def active(self) -> ActiveKey: ...
    def jwks(self) -> dict[str, Any]: ...
    def kids(self) -> list[str]: ...
    def sign_access_token(
        self,
        *,
        user_id: uuid.UUID,
        session_id: str,
        role: str,
        issuer: str,
        audience: str,
        ttl_seconds: int,
    ) -> AccessToken: ...


class RefreshCodec(Protocol):
    """Refresh tokens and their stored digests (``auth.refresh_tokens.RefreshTokenCodec``)."""

    def is_well_formed(self, token: str) -> bool: ...
    def new_token(self) -> str: ...
    def digest(self, token: str) -> bytes: ...
    def digests(self, token: str) -> list[bytes]: ...
    def child_of(self, token: str) -> str: ...
    def issued_child(self, parent: str, child_hash: bytes) -> str | None: ...


class Revocations(Protocol):
    """The shared denylist of revoked session ids (``common.session_revocation``)."""

    async def revoke(self, session_ids: Iterable[str], *, ttl_seconds: int) -> None: ...


class OutboxWriter(Protocol):
    """Adds a message to the outbox in the caller's transaction (``messaging.outbox.Outbox``)."""

    async def add(self, session: AsyncSession, message: Message) -> object: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Deps:
    settings: AuthSettings
    uow: AuthUnitOfWork
    otp: OtpStore
    provider: OtpProvider
    phones: Phones
    keyset: TokenSigner
    refresh_codec: RefreshCodec
    revocations: Revocations
    outbox: OutboxWriter
    analytics: AnalyticsEmitter
    clock: Callable[[], datetime] = field(default=utc_now)

    @property
    def revocation_ttl_seconds(self) -> int:
        """How long a revoked sid stays on the denylist: past the last access token's expiry."""
        settings = self.settings
        return int(settings.access_token_ttl_seconds + settings.jwt_leeway_seconds + 5)
