"""Login sessions: opening one after a verified code, refresh-token rotation, logout.

Refresh rotation (docs/auth.md §3; pitfalls 13-15 in §4):

- the presented token's session row is locked (``FOR UPDATE``) for the whole decision, so
  rotation, grace answers and revocation of one session are serialised;
- the current token is exchanged for its child (``rotated_at`` set once);
- the immediate parent of the current token, presented again within ``REFRESH_GRACE_SECONDS``
  of its own ``rotated_at``, yields the same child (concurrent refreshes converge);
- any other rotated token is reuse: the whole session is revoked (committed before answering),
  its ``sid`` joins the shared denylist, and the answer is 401 ``refresh_token_reused``.

Secret rotation: a token stored under a previous pepper is still found (``lock_token`` looks
up one hash per pepper) and its row is rewritten under the current pepper; its child is always
stored under the current one. A phone whose user is stored under a previous lookup key's hash
is moved to the current key's hash on sign-in, before a new user could be inserted.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from common.jwt_verification import VerifiedToken
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from auth import repository as repo
from auth.contracts import SignedInV1, UserRegisteredV1
from auth.deps import Deps
from auth.errors import (
    AccountDisabledError,
    DependencyUnavailableError,
    RateLimitedError,
    RefreshSessionRevokedError,
    RefreshTokenInvalidError,
    RefreshTokenReusedError,
    SessionExpiredError,
)
from auth.phone_crypto import EncryptedPhone
from auth.phone_numbers import mask_e164

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UserView:
    id: uuid.UUID
    role: str
    phone_masked: str


@dataclass(frozen=True)
class SignedIn:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: str
    user: UserView


class LogoutScope(StrEnum):
    LOCAL = "local"
    GLOBAL = "global"
    OTHERS = "others"


def _signed_in(
    deps: Deps,
    *,
    user_id: uuid.UUID,
    role: str,
    session_id: uuid.UUID,
    refresh_token: str,
    phone_masked: str,
) -> SignedIn:
    settings = deps.settings
    access = deps.keyset.sign_access_token(
        user_id=user_id,
        session_id=session_id.hex,
        role=role,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.access_token_ttl_seconds,
    )
    return SignedIn(
        access_token=access.token,
        refresh_token=refresh_token,
        expires_in=access.expires_in,
        session_id=session_id.hex,
        user=UserView(id=user_id, role=role, phone_masked=phone_masked),
    )


async def open_session(
    deps: Deps, *, phone_hash: bytes, encrypted_phone: EncryptedPhone, phone_masked: str
) -> SignedIn:
    """Signs in the owner of a verified phone, registering them on first sign-in."""
    settings = deps.settings
    now = deps.clock()
    session_id = uuid.uuid4()
    refresh_token = deps.refresh_codec.new_token()
    new = repo.NewSession(
        phone_hash=phone_hash,
        session_id=session_id,
        token_hash=deps.refresh_codec.digest(refresh_token),
        now=now,
        session_expires_at=now + timedelta(seconds=settings.session_max_lifetime_seconds),
        token_expires_at=now + timedelta(seconds=settings.refresh_token_ttl_seconds),
    )
    # One statement, atomic on its own: autocommit on the direct pool (no BEGIN/COMMIT round
    # trips, none of the engine's per-execution work).
    user = repo.user_from_record(await deps.uow.direct(repo.OPEN_SESSION_DIRECT, new.params()))
    registered = False
    if user is None:
        async with deps.uow() as tx:
            if deps.phones.lookup_key_rotating:
                await _adopt_previous_phone_hash(deps, tx, encrypted_phone, phone_hash)
            created = await repo.insert_user(
                tx,
                public_id=uuid.uuid4(),
                role="driver",
                phone_hash=phone_hash,
                phone_ciphertext=encrypted_phone.ciphertext,
                phone_key_id=encrypted_phone.key_id,
            )
            if created is not None:
                registered = True
                await deps.outbox.add(
                    tx,
                    UserRegisteredV1(
                        user_id=created.public_id, role=created.role, registered_at=now
                    ),
                )
                logger.info("user registered", extra={"user_id": str(created.public_id)})
            user = await repo.open_session_for_phone(tx, new)
    if user is None:
        raise DependencyUnavailableError("Sign-in could not be completed.", retry_after=1)
    if user.status != "active":
        raise AccountDisabledError("This account is disabled. Please contact support.")
    deps.analytics.emit(SignedInV1.of(user.public_id, now, role=user.role, registered=registered))
    return _signed_in(
        deps,
        user_id=user.public_id,
        role=user.role,
        session_id=session_id,
        refresh_token=refresh_token,
        phone_masked=phone_masked,
    )


async def _adopt_previous_phone_hash(
    deps: Deps, tx: AsyncSession, encrypted_phone: EncryptedPhone, phone_hash: bytes
) -> None:
    """During a lookup-key rotation: the user stored under a previous key's hash of this phone
    moves to ``phone_hash``, so the insert that follows finds it instead of a second account."""
    await repo.lock_phone_registrations(tx)
    previous = deps.phones.previous_lookup_hashes(deps.phones.decrypt(encrypted_phone))
    adopted = await repo.adopt_phone_hash(tx, previous, phone_hash)
    if adopted is not None:
        logger.info("phone lookup hash upgraded", extra={"user_id": str(adopted.public_id)})


class _Outcome(StrEnum):
    ROTATED = "rotated"
    GRACE = "grace"
    REUSED = "reused"


async def refresh(deps: Deps, *, refresh_token: str, client_ip: str) -> SignedIn:
    settings = deps.settings
    wait = await deps.otp.hit_ip_limit(
        client_ip, "refresh", settings.refresh_per_ip_per_hour, settings.refresh_ip_burst
    )
    if wait > 0:
        raise RateLimitedError("Too many refresh requests.", retry_after=wait)
    if not deps.refresh_codec.is_well_formed(refresh_token):
        raise RefreshTokenInvalidError("The refresh token is not valid.")
    codec = deps.refresh_codec
    now = deps.clock()
    child_token = codec.child_of(refresh_token)
    digests = codec.digests(refresh_token)
    async with deps.uow() as tx:
        token = await repo.lock_token(tx, digests)
        if token is None:
            raise RefreshTokenInvalidError("The refresh token is not valid.")
        if token.session_revoked_at is not None:
            raise RefreshSessionRevokedError("This session was signed out.")
        if token.session_expires_at <= now:
            raise SessionExpiredError("This session has expired. Please sign in again.")
        if token.user_status != "active":
            raise AccountDisabledError("This account is disabled. Please contact support.")
        if token.token_hash != digests[0]:  # stored under a previous pepper
            await repo.set_token_hash(tx, token.id, digests[0])
        if token.rotated_at is None:
            if token.expires_at <= now:
                raise SessionExpiredError("This session has expired. Please sign in again.")
            await repo.rotate(
                tx,
                token=token,
                child_hash=codec.digest(child_token),
                now=now,
                child_expires_at=now + timedelta(seconds=settings.refresh_token_ttl_seconds),
            )
            outcome = _Outcome.ROTATED
        else:
            child = await repo.child_of(tx, token.id)
            in_grace = now - token.rotated_at <= timedelta(seconds=settings.refresh_grace_seconds)
            if child is not None and child.rotated_at is None and in_grace:
                # the child issued then (under the pepper current at that rotation)
                issued = codec.issued_child(refresh_token, child.token_hash)
                if issued is None:
                    raise RefreshTokenInvalidError("The refresh token is not valid.")
                child_token = issued
                outcome = _Outcome.GRACE
            else:
                await repo.revoke_sessions(
                    tx, [token.session_id], reason="refresh_token_reused", now=now
                )
                outcome = _Outcome.REUSED

    if outcome is _Outcome.REUSED:
        logger.warning(
            "security: refresh token reused; session revoked",
            extra={"user_id": str(token.user_public_id), "sid": token.session_id.hex},
        )
        await _deny_sessions(deps, [token.session_id], strict=False)
        raise RefreshTokenReusedError(
            "This refresh token was already used; the session has been signed out."
        )
    stored_phone = EncryptedPhone(token.user_phone_key_id, token.user_phone_ciphertext)
    phone_masked = mask_e164(deps.phones.decrypt(stored_phone))
    return _signed_in(
        deps,
        user_id=token.user_public_id,
        role=token.user_role,
        session_id=token.session_id,
        refresh_token=child_token,
        phone_masked=phone_masked,
    )


async def _deny_sessions(deps: Deps, session_ids: list[uuid.UUID], *, strict: bool) -> None:
    """Adds the sids to the shared denylist; ``strict`` turns a Redis failure into a 503."""
    try:
        await deps.revocations.revoke(
            [sid.hex for sid in session_ids], ttl_seconds=deps.revocation_ttl_seconds
        )
    except (RedisError, OSError) as exc:
        if strict:
            raise DependencyUnavailableError(
                "Signing out is temporarily unavailable.", retry_after=5
            ) from None
        logger.error(
            "revoked sessions not pushed to the denylist", extra={"error": type(exc).__name__}
        )


async def logout(deps: Deps, *, user: VerifiedToken, scope: LogoutScope) -> int:
    """Revokes sessions; the denylist is written first, so a 204 means tokens stop working."""
    current = uuid.UUID(hex=user.session_id)
    async with deps.uow() as tx:
        if scope is LogoutScope.LOCAL:
            targets = [current]
        else:
            targets = await repo.active_session_ids(tx, user.user_id)
            if scope is LogoutScope.OTHERS:
                targets = [sid for sid in targets if sid != current]
        await _deny_sessions(deps, targets, strict=True)
        revoked = await repo.revoke_sessions(
            tx, targets, reason=f"logout_{scope.value}", now=deps.clock()
        )
    logger.info("logout", extra={"scope": scope.value, "sessions_revoked": revoked})
    return revoked


async def revoke_user_sessions(deps: Deps, *, user_id: uuid.UUID, reason: str) -> int:
    """Admin and operator: ends every session of a user (ASVS 7.4.5)."""
    async with deps.uow() as tx:
        return await revoke_sessions_in(deps, tx, user_id=user_id, reason=reason)


async def revoke_sessions_in(
    deps: Deps, tx: AsyncSession, *, user_id: uuid.UUID, reason: str
) -> int:
    """Ends every session of a user in the caller's transaction; the denylist is written
    first (a Redis failure is a 503 and nothing is revoked)."""
    targets = await repo.active_session_ids(tx, user_id)
    await _deny_sessions(deps, targets, strict=True)
    return await repo.revoke_sessions(tx, targets, reason=reason, now=deps.clock())
