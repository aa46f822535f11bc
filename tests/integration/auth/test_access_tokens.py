"""Access tokens issued by auth: JWKS, claims, and every forged or stale token refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
from auth.signing_keys import load_keyset
from common.jwks import StaticJwks
from common.jwt_verification import JwtVerifier
from cryptography.hazmat.primitives import serialization

from tests.fakes.twilio.control import TwilioControl
from tests.support.auth_service import AuthClient, sign_in
from tests.support.jwt_tokens import TestSigningKeys
from tests.support.problem_json import problem


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(tokens: dict[str, Any]) -> dict[str, Any]:
    return dict(jwt.decode(tokens["access_token"], options={"verify_signature": False}))


async def _me(auth: AuthClient, token: str) -> Any:
    return await auth.get("/v1/auth/me", token=token)


async def test_access_token_verifies_against_the_published_jwks(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    tokens = await sign_in(auth, fake_twilio)
    resp = await auth.get("/v1/auth/jwks.json")
    assert resp.status_code == 200
    assert "max-age" in resp.headers["Cache-Control"]
    document = resp.json()
    assert all("d" not in key for key in document["keys"])
    settings = auth.deps.settings
    verifier = JwtVerifier(
        StaticJwks(document), issuer=settings.jwt_issuer, audience=settings.jwt_audience
    )
    verified = await verifier.verify(tokens["access_token"])
    assert str(verified.user_id) == tokens["user"]["id"]
    assert verified.session_id == tokens["session_id"]
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header == {"alg": "EdDSA", "kid": "test-auth-1", "typ": "at+jwt"}
    claims = _claims(tokens)
    assert claims["exp"] - claims["iat"] == 600
    assert uuid.UUID(claims["sub"])


async def test_alg_none_is_401_token_invalid(auth: AuthClient, fake_twilio: TwilioControl) -> None:
    claims = _claims(await sign_in(auth, fake_twilio))
    head = _b64(json.dumps({"alg": "none", "typ": "at+jwt", "kid": "test-auth-1"}).encode())
    token = f"{head}.{_b64(json.dumps(claims).encode())}."
    problem(await _me(auth, token), 401, "token_invalid")


async def test_hs256_signed_with_the_public_key_is_401_token_invalid(
    auth: AuthClient, fake_twilio: TwilioControl, auth_secrets: dict[str, str]
) -> None:
    claims = _claims(await sign_in(auth, fake_twilio))
    keyset = load_keyset(auth_secrets["jwt_signing_keys"], auth_secrets["jwt_active_kid"])
    public_pem = keyset.active.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    head = _b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": "test-auth-1"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    problem(await _me(auth, f"{head}.{body}.{_b64(signature)}"), 401, "token_invalid")


def _resign(auth_secrets: dict[str, str], claims: dict[str, Any], **headers: Any) -> str:
    keyset = load_keyset(auth_secrets["jwt_signing_keys"], auth_secrets["jwt_active_kid"])
    private = keyset.active.private_key
    return jwt.encode(
        claims,
        private,
        algorithm="EdDSA",
        headers={"kid": "test-auth-1", "typ": "at+jwt", **headers},
    )


async def test_expired_token_is_401_token_expired(
    auth: AuthClient, fake_twilio: TwilioControl, auth_secrets: dict[str, str]
) -> None:
    claims = _claims(await sign_in(auth, fake_twilio))
    now = int(time.time())
    claims.update(iat=now - 1200, exp=now - 600)
    resp = await _me(auth, _resign(auth_secrets, claims))
    problem(resp, 401, "token_expired")
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


async def test_unknown_kid_is_401_token_invalid(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    claims = _claims(await sign_in(auth, fake_twilio))
    stranger = TestSigningKeys(kid="rotated-away")
    token = jwt.encode(
        claims,
        stranger.ed_private,
        algorithm="EdDSA",
        headers={"kid": "rotated-away", "typ": "at+jwt"},
    )
    problem(await _me(auth, token), 401, "token_invalid")


async def test_wrong_audience_is_401_token_invalid(
    auth: AuthClient, fake_twilio: TwilioControl, auth_secrets: dict[str, str]
) -> None:
    claims = _claims(await sign_in(auth, fake_twilio))
    claims["aud"] = "some-other-api"
    problem(await _me(auth, _resign(auth_secrets, claims)), 401, "token_invalid")


async def test_integer_subject_is_401_token_invalid(
    auth: AuthClient, fake_twilio: TwilioControl, auth_secrets: dict[str, str]
) -> None:
    claims = _claims(await sign_in(auth, fake_twilio))
    claims["sub"] = "42"
    problem(await _me(auth, _resign(auth_secrets, claims)), 401, "token_invalid")


async def test_driver_on_admin_route_is_403_and_anonymous_is_401(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    driver = await sign_in(auth, fake_twilio)
    path = "/v1/admin/otp/diagnostics"
    problem(await auth.get(path, token=driver["access_token"]), 403, "insufficient_scope")
    problem(await auth.get(path), 401, "token_missing")
