"""The access-token keyset: one active signing key and any published (standby/retired) keys.

Only Ed25519 (``EdDSA``) and P-256 (``ES256``) are accepted. Access tokens carry ``kid`` and
``typ=at+jwt``; the JWKS document publishes every key's public half.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

_KID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")

PrivateKey = Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey


class SigningKeyError(ValueError):
    """The configured signing keys are missing, weak or malformed."""


@dataclass(frozen=True)
class KeyEntry:
    kid: str
    algorithm: str
    public_key: PublicKey
    private_key: PrivateKey | None

    def public_jwk(self) -> dict[str, Any]:
        if isinstance(self.public_key, Ed25519PublicKey):
            jwk: dict[str, Any] = json.loads(OKPAlgorithm.to_jwk(self.public_key))
        else:
            jwk = json.loads(ECAlgorithm.to_jwk(self.public_key))
        jwk.update({"kid": self.kid, "alg": self.algorithm, "use": "sig"})
        return jwk


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int
    jti: str


class KeySet:
    def __init__(self, entries: list[KeyEntry], active_kid: str) -> None:
        self.entries = {entry.kid: entry for entry in entries}
        active = self.entries.get(active_kid)
        if active is None or active.private_key is None:
            raise SigningKeyError(f"active kid {active_kid!r} needs a private key in the keyset")
        self.active = active
        self._active_private = active.private_key

    def jwks(self) -> dict[str, Any]:
        return {"keys": [entry.public_jwk() for entry in self.entries.values()]}

    def kids(self) -> list[str]:
        return list(self.entries)

    def sign_access_token(
        self,
        *,
        user_id: uuid.UUID,
        session_id: str,
        role: str,
        issuer: str,
        audience: str,
        ttl_seconds: int,
    ) -> AccessToken:
        now = int(time.time())
        jti = uuid.uuid4().hex
        claims = {
            "iss": issuer,
            "aud": audience,
            "sub": str(user_id),
            "sid": session_id,
            "role": role,
            "iat": now,
            "exp": now + ttl_seconds,
            "jti": jti,
        }
        token = jwt.encode(
            claims,
            self._active_private,
            algorithm=self.active.algorithm,
            headers={"kid": self.active.kid, "typ": "at+jwt"},
        )
        return AccessToken(token=token, expires_in=ttl_seconds, jti=jti)


def _entry_from_config(item: Any) -> KeyEntry:
    if not isinstance(item, dict):
        raise SigningKeyError("each key must be a JSON object")
    kid = item.get("kid")
    if not isinstance(kid, str) or not 1 <= len(kid) <= 64 or not set(kid) <= _KID_CHARS:
        raise SigningKeyError("each key needs a 'kid' of 1-64 characters [A-Za-z0-9._-]")
    private: Any = None
    public: Any
    try:
        if "pem" in item:
            pem = str(item["pem"]).encode()
            if b"PRIVATE" in pem:
                private = serialization.load_pem_private_key(pem, password=None)
                public = private.public_key()
            else:
                public = serialization.load_pem_public_key(pem)
        elif item.get("kty") == "OKP":
            loaded: Any = OKPAlgorithm.from_jwk(item)
            private = loaded if isinstance(loaded, Ed25519PrivateKey) else None
            public = private.public_key() if private is not None else loaded
        elif item.get("kty") == "EC":
            loaded = ECAlgorithm.from_jwk(item)
            private = loaded if isinstance(loaded, ec.EllipticCurvePrivateKey) else None
            public = private.public_key() if private is not None else loaded
        else:
            raise SigningKeyError(f"key {kid!r}: only Ed25519 (OKP) or P-256 (EC) keys")
    except (ValueError, TypeError, jwt.InvalidKeyError) as exc:
        if isinstance(exc, SigningKeyError):
            raise
        raise SigningKeyError(f"key {kid!r} is unreadable ({type(exc).__name__})") from None
    if isinstance(public, Ed25519PublicKey):
        algorithm = "EdDSA"
    elif isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1):
        algorithm = "ES256"
    else:
        raise SigningKeyError(
            f"key {kid!r}: only Ed25519 or P-256 keys (no RSA, HMAC, other curves)"
        )
    return KeyEntry(kid=kid, algorithm=algorithm, public_key=public, private_key=private)


def load_keyset(raw: str, active_kid: str) -> KeySet:
    try:
        items = json.loads(raw)
    except json.JSONDecodeError:
        raise SigningKeyError("must be a JSON list of keys") from None
    if not isinstance(items, list) or not items:
        raise SigningKeyError("must be a non-empty JSON list of keys")
    entries = [_entry_from_config(item) for item in items]
    if len({e.kid for e in entries}) != len(entries):
        raise SigningKeyError("kids must be unique")
    return KeySet(entries, active_kid)


def generate_keyset_config(kid: str | None = None) -> tuple[str, str]:
    """A fresh Ed25519 keyset as (JWT_SIGNING_KEYS, JWT_ACTIVE_KID); for local/test only."""
    kid = kid or f"local-{uuid.uuid4().hex[:8]}"
    jwk = json.loads(OKPAlgorithm.to_jwk(Ed25519PrivateKey.generate(), as_dict=False))
    jwk["kid"] = kid
    return json.dumps([jwk]), kid
