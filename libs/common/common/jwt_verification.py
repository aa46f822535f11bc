"""Verification of access tokens (JWTs) issued by the auth service, used by every service.

Rules (RFC 8725, OWASP JWT cheat sheet):

- Algorithm allow-list: ``EdDSA`` (Ed25519) and ``ES256`` only. The header ``alg`` must equal the
  algorithm of the key selected by ``kid``; ``none``, HMAC and RSA are rejected before any key is
  touched, so an HS256 token "signed" with a public key never verifies.
- ``kid`` is only a pointer into a trusted JWKS (:mod:`common.jwks`); ``jwk``/``jku``/``x5u``/
  ``x5c`` header parameters are refused. ``typ`` must be ``at+jwt`` (RFC 9068).
- Required claims: ``iss``, ``aud``, ``exp``, ``iat``, ``sub``, ``sid``, ``role``; ``sub`` must
  parse as a UUID. A small leeway absorbs clock skew.
- A session id listed in :class:`common.session_revocation.RevokedSessions` is refused, so a
  logout takes effect within seconds everywhere.

Error codes (401 unless noted; the ``code`` is the contract):

    TokenMissingError     401 token_missing     no bearer token was sent
    TokenInvalidError     401 token_invalid     malformed, bad signature, wrong iss/aud/typ/alg,
                                                unknown kid, missing claim, sub not a UUID
    TokenExpiredError     401 token_expired     ``exp`` passed (the client refreshes)
    SessionRevokedError   401 session_revoked   the session was logged out or revoked
    InsufficientScopeError 403 insufficient_scope  authenticated, but the role is not allowed
    ForbiddenError        403 forbidden         authenticated, not allowed on this resource
"""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol

import jwt

from common.errors import PermissionDenied, Unauthorized

logger = logging.getLogger(__name__)

ALLOWED_ALGORITHMS: Final = frozenset({"EdDSA", "ES256"})
ACCESS_TOKEN_TYPE: Final = "at+jwt"
REQUIRED_CLAIMS: Final = ("iss", "aud", "exp", "iat", "sub", "sid", "role")
_FORBIDDEN_HEADERS: Final = frozenset({"jwk", "jku", "x5u", "x5c", "crit"})
_KID_PATTERN: Final = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_SID_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MAX_TOKEN_LENGTH: Final = 4096


class TokenMissingError(Unauthorized):
    code = "token_missing"
    title = "Authentication required"

    def response_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        headers.setdefault("WWW-Authenticate", 'Bearer realm="nerava"')
        return headers


class TokenInvalidError(Unauthorized):
    code = "token_invalid"
    title = "Invalid access token"


class TokenExpiredError(Unauthorized):
    code = "token_expired"
    title = "Access token expired"


class SessionRevokedError(Unauthorized):
    code = "session_revoked"
    title = "Session revoked"


class InsufficientScopeError(PermissionDenied):
    code = "insufficient_scope"
    title = "Insufficient scope"


class ForbiddenError(PermissionDenied):
    code = "forbidden"
    title = "Forbidden"


@dataclass(frozen=True)
class VerifiedToken:
    """The claims of an access token that passed every check."""

    user_id: uuid.UUID
    session_id: str
    role: str
    issued_at: datetime
    expires_at: datetime
    claims: dict[str, Any] = field(repr=False)


class VerificationKeys(Protocol):
    """Where public keys come from: a static JWKS or the auth service's JWKS endpoint."""

    async def key_for(self, kid: str) -> jwt.PyJWK | None:
        """The key with this ``kid``, or None if the trusted JWKS has no such key."""


class RevocationCheck(Protocol):
    async def is_revoked(self, session_id: str) -> bool: ...


def _unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header, read to pick the key: the first segment only, decoded once (``jwt.decode``
    then checks the whole token, header included, against the key)."""
    encoded = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, RecursionError):  # bad base64 (binascii.Error), UTF-8 or JSON
        raise TokenInvalidError("The token is malformed.") from None
    if not isinstance(header, dict):
        raise TokenInvalidError("The token is malformed.")
    return header


class JwtVerifier:
    """Verifies access tokens; one instance per app, shared by every request."""

    def __init__(
        self,
        keys: VerificationKeys,
        *,
        issuer: str,
        audience: str,
        leeway_seconds: float = 10.0,
        revocations: RevocationCheck | None = None,
    ) -> None:
        if leeway_seconds < 0 or leeway_seconds > 60:
            raise ValueError("leeway_seconds must be between 0 and 60")
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway_seconds = leeway_seconds
        self.revocations = revocations

    async def verify(self, token: str) -> VerifiedToken:
        header = self._read_header(token)
        kid = header["kid"]
        key = await self.keys.key_for(kid)
        if key is None:
            raise TokenInvalidError("The token was signed with an unknown key.")
        if key.algorithm_name != header["alg"] or key.algorithm_name not in ALLOWED_ALGORITHMS:
            raise TokenInvalidError("The token algorithm does not match its key.")
        claims = self._decode(token, key)
        verified = self._to_verified(claims)
        if self.revocations is not None and await self.revocations.is_revoked(verified.session_id):
            raise SessionRevokedError("This session has been signed out.")
        return verified

    def _read_header(self, token: str) -> dict[str, Any]:
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            raise TokenInvalidError("The token is malformed.")
        header = _unverified_header(token)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
            raise TokenInvalidError("The token algorithm is not allowed.")
        if _FORBIDDEN_HEADERS.intersection(header):
            raise TokenInvalidError("The token header carries a forbidden parameter.")
        if header.get("typ") != ACCESS_TOKEN_TYPE:
            raise TokenInvalidError("The token is not an access token.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not _KID_PATTERN.match(kid):
            raise TokenInvalidError("The token has no valid key id.")
        return header

    def _decode(self, token: str, key: jwt.PyJWK) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[key.algorithm_name],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": list(REQUIRED_CLAIMS), "strict_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpiredError("The access token has expired.") from None
        except jwt.InvalidAudienceError:
            raise TokenInvalidError("The token is not meant for this audience.") from None
        except jwt.InvalidIssuerError:
            raise TokenInvalidError("The token was issued by an unknown issuer.") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenInvalidError(f"The token lacks the '{exc.claim}' claim.") from None
        except jwt.InvalidTokenError:
            raise TokenInvalidError("The token signature or claims are invalid.") from None
        return claims

    @staticmethod
    def _to_verified(claims: dict[str, Any]) -> VerifiedToken:
        sub, sid, role = claims.get("sub"), claims.get("sid"), claims.get("role")
        try:
            user_id = uuid.UUID(str(sub))
        except ValueError:
            raise TokenInvalidError("The token subject is not a user id.") from None
        if not isinstance(sid, str) or not _SID_PATTERN.match(sid):
            raise TokenInvalidError("The token has no valid session id.")
        if not isinstance(role, str) or not role:
            raise TokenInvalidError("The token has no valid role.")
        return VerifiedToken(
            user_id=user_id,
            session_id=sid,
            role=role,
            issued_at=datetime.fromtimestamp(int(claims["iat"]), tz=UTC),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=UTC),
            claims=claims,
        )
