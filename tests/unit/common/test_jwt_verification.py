"""Access-token verification: every way a token can be wrong gets 401 with the right code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
from common.jwks import StaticJwks
from common.jwt_verification import (
    JwtVerifier,
    SessionRevokedError,
    TokenExpiredError,
    TokenInvalidError,
)
from cryptography.hazmat.primitives import serialization

from tests.support.jwt_tokens import AUDIENCE, ISSUER, TestSigningKeys


class FakeRevocations:
    def __init__(self) -> None:
        self.revoked: set[str] = set()

    async def is_revoked(self, session_id: str) -> bool:
        return session_id in self.revoked


@pytest.fixture(scope="module")
def keys() -> TestSigningKeys:
    return TestSigningKeys()


def _verifier(keys: TestSigningKeys, revocations: FakeRevocations | None = None) -> JwtVerifier:
    return JwtVerifier(
        StaticJwks(keys.jwks()),
        issuer=ISSUER,
        audience=AUDIENCE,
        leeway_seconds=5,
        revocations=revocations,
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, object], claims: dict[str, object]) -> str:
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(claims).encode())
    return f"{head}.{body}."


async def test_valid_eddsa_token_yields_uuid_subject_session_and_role(
    keys: TestSigningKeys,
) -> None:
    user_id = uuid.uuid4()
    token = keys.mint(sub=str(user_id), sid="s1", role="merchant")
    verified = await _verifier(keys).verify(token)
    assert verified.user_id == user_id
    assert verified.session_id == "s1"
    assert verified.role == "merchant"


async def test_valid_es256_token_is_accepted(keys: TestSigningKeys) -> None:
    verified = await _verifier(keys).verify(keys.mint(algorithm="ES256"))
    assert verified.role == "driver"


async def test_alg_none_is_token_invalid(keys: TestSigningKeys) -> None:
    token = _unsigned({"alg": "none", "typ": "at+jwt", "kid": keys.kid}, keys.claims())
    with pytest.raises(TokenInvalidError) as err:
        await _verifier(keys).verify(token)
    assert err.value.status == 401
    assert err.value.instance_code == "token_invalid"


async def test_hs256_signed_with_the_public_key_is_token_invalid(keys: TestSigningKeys) -> None:
    public_pem = keys.ed_private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    head = _b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": keys.kid}).encode())
    body = _b64(json.dumps(keys.claims()).encode())
    signature = hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    token = f"{head}.{body}.{_b64(signature)}"
    with pytest.raises(TokenInvalidError):
        await _verifier(keys).verify(token)


async def test_alg_header_must_match_the_key_named_by_kid(keys: TestSigningKeys) -> None:
    # An ES256 signature presented under the Ed25519 key id.
    token = keys.mint(algorithm="ES256", kid=keys.kid)
    with pytest.raises(TokenInvalidError):
        await _verifier(keys).verify(token)


async def test_expired_token_is_token_expired(keys: TestSigningKeys) -> None:
    now = int(time.time())
    token = keys.mint(iat=now - 1200, exp=now - 600)
    with pytest.raises(TokenExpiredError) as err:
        await _verifier(keys).verify(token)
    assert err.value.instance_code == "token_expired"
    assert "invalid_token" in err.value.response_headers()["WWW-Authenticate"]


async def test_expiry_within_leeway_is_still_accepted(keys: TestSigningKeys) -> None:
    now = int(time.time())
    await _verifier(keys).verify(keys.mint(iat=now - 600, exp=now - 2))


async def test_unknown_kid_is_token_invalid(keys: TestSigningKeys) -> None:
    with pytest.raises(TokenInvalidError):
        await _verifier(keys).verify(keys.mint(kid="someone-else"))


async def test_token_from_another_key_with_our_kid_is_token_invalid(
    keys: TestSigningKeys,
) -> None:
    impostor = TestSigningKeys(kid=keys.kid)
    with pytest.raises(TokenInvalidError):
        await _verifier(keys).verify(impostor.mint())


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("aud", "another-api"),
        ("iss", "https://evil.example"),
        ("sub", "42"),
        ("sid", None),
        ("role", None),
        ("iat", None),
        ("sid", "not a valid sid!"),
    ],
)
async def test_wrong_or_missing_claims_are_token_invalid(
    keys: TestSigningKeys, claim: str, value: object
) -> None:
    with pytest.raises(TokenInvalidError):
        await _verifier(keys).verify(keys.mint(**{claim: value}))


@pytest.mark.parametrize(
    "headers",
    [{"typ": "JWT"}, {"jku": "https://evil.example/jwks"}, {"jwk": {"kty": "OKP"}}],
)
async def test_wrong_type_or_embedded_key_headers_are_token_invalid(
    keys: TestSigningKeys, headers: dict[str, object]
) -> None:
    typ = str(headers.pop("typ", "at+jwt"))
    with pytest.raises(TokenInvalidError):
        await _verifier(keys).verify(keys.mint(typ=typ, headers=headers))


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "x" * 5000])
async def test_garbage_is_token_invalid(keys: TestSigningKeys, garbage: str) -> None:
    with pytest.raises(TokenInvalidError):
        await _verifier(keys).verify(garbage)


async def test_revoked_session_is_session_revoked(keys: TestSigningKeys) -> None:
    revocations = FakeRevocations()
    verifier = _verifier(keys, revocations)
    token = keys.mint(sid="sess-1")
    await verifier.verify(token)
    revocations.revoked.add("sess-1")
    with pytest.raises(SessionRevokedError) as err:
        await verifier.verify(token)
    assert err.value.instance_code == "session_revoked"


def test_static_jwks_ignores_private_symmetric_and_rsa_keys(keys: TestSigningKeys) -> None:
    doc = keys.jwks()
    private = dict(doc["keys"][0], kid="leaky", d="AAAA")
    symmetric = {"kty": "oct", "kid": "sym", "k": "c2VjcmV0"}
    rsa = {"kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB"}
    static = StaticJwks({"keys": [*doc["keys"], private, symmetric, rsa]})
    assert static.kids() == sorted([keys.kid, keys.ec_kid])
