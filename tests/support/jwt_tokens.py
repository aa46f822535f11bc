"""Signing keys and access tokens for tests of any service that verifies JWTs.

keys = TestSigningKeys()
verifier = JwtVerifier(StaticJwks(keys.jwks()), issuer=ISSUER, audience=AUDIENCE)
token = keys.mint(role="admin")
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

ISSUER = "https://auth.nerava.app"
AUDIENCE = "nerava-api"


class TestSigningKeys:
    """An Ed25519 key (kid ``test-ed``) and a P-256 key (kid ``test-ec``)."""

    __test__ = False

    def __init__(self, *, kid: str = "test-ed") -> None:
        self.kid = kid
        self.ed_private = Ed25519PrivateKey.generate()
        self.ec_kid = f"{kid}-ec"
        self.ec_private = ec.generate_private_key(ec.SECP256R1())

    def public_jwks(self) -> list[dict[str, Any]]:
        ed = json.loads(OKPAlgorithm.to_jwk(self.ed_private.public_key()))
        ed.update({"kid": self.kid, "alg": "EdDSA", "use": "sig"})
        ecj = json.loads(ECAlgorithm.to_jwk(self.ec_private.public_key()))
        ecj.update({"kid": self.ec_kid, "alg": "ES256", "use": "sig"})
        return [ed, ecj]

    def jwks(self) -> dict[str, Any]:
        return {"keys": self.public_jwks()}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(uuid.uuid4()),
            "sid": uuid.uuid4().hex,
            "role": "driver",
            "iat": now,
            "exp": now + 600,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def mint(
        self,
        *,
        algorithm: str = "EdDSA",
        kid: str | None = None,
        typ: str = "at+jwt",
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        key: Any = self.ed_private if algorithm == "EdDSA" else self.ec_private
        default_kid = self.kid if algorithm == "EdDSA" else self.ec_kid
        return jwt.encode(
            self.claims(**claims),
            key,
            algorithm=algorithm,
            headers={"kid": kid or default_kid, "typ": typ, **(headers or {})},
        )
