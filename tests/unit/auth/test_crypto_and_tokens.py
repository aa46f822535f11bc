"""Pure pieces of auth: phone parsing and encryption, refresh tokens, the signing keyset."""

from __future__ import annotations

import json
import uuid

import pytest
from auth.phone_crypto import EncryptedPhone, PhoneCipher, PhoneKeyError, load_phone_keys
from auth.phone_numbers import PhoneNumberError, PhoneRegionError, mask_e164, parse_phone
from auth.refresh_tokens import RefreshTokenCodec
from auth.signing_keys import SigningKeyError, generate_keyset_config, load_keyset
from common.jwks import StaticJwks
from common.jwt_verification import JwtVerifier
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+1 (415) 555-0123", "+14155550123"),
        ("0014155550123", "+14155550123"),
        (" +14155550123 ", "+14155550123"),
    ],
)
def test_phone_numbers_are_normalised_to_e164(raw: str, e164: str) -> None:
    assert parse_phone(raw, ["1"]).e164 == e164


@pytest.mark.parametrize("raw", ["", "4155550123", "+0123456789", "+1415555012", "+1abc"])
def test_malformed_numbers_are_refused(raw: str) -> None:
    with pytest.raises(PhoneNumberError):
        parse_phone(raw, ["1"])


def test_other_countries_are_a_region_error() -> None:
    with pytest.raises(PhoneRegionError):
        parse_phone("+447700900123", ["1"])
    assert parse_phone("+447700900123", ["1", "44"]).e164 == "+447700900123"


def test_masking_and_repr_never_show_the_number() -> None:
    number = parse_phone("+14155550123", ["1"])
    assert mask_e164(number.e164) == "+1******0123"
    assert "5550" not in repr(number) and "5550" not in str(number)


def _keys(*ids: str) -> dict[str, str]:
    from auth.phone_crypto import generate_key_material

    return {key_id: generate_key_material() for key_id in ids}


def test_previous_lookup_keys_give_the_hashes_of_a_rotation() -> None:
    raw = _keys("k1")
    old = PhoneCipher(load_phone_keys(raw, "k1"), "k1", b"o" * 32)
    plain = PhoneCipher(load_phone_keys(raw, "k1"), "k1", b"n" * 32)
    rotating = PhoneCipher(load_phone_keys(raw, "k1"), "k1", b"n" * 32, [b"o" * 32])
    assert not plain.lookup_key_rotating and plain.previous_lookup_hashes("+14155550123") == []
    assert rotating.lookup_key_rotating
    assert rotating.lookup_hash("+14155550123") == plain.lookup_hash("+14155550123")
    assert rotating.previous_lookup_hashes("+14155550123") == [old.lookup_hash("+14155550123")]


def test_phone_key_rotation_keeps_old_rows_readable() -> None:
    raw = _keys("k1", "k2")
    old = PhoneCipher(load_phone_keys(raw, "k1"), "k1", b"l" * 32)
    stored = old.encrypt("+14155550123")
    assert stored.key_id == "k1"
    new = PhoneCipher(load_phone_keys(raw, "k2"), "k2", b"l" * 32)
    assert new.decrypt(stored) == "+14155550123"
    assert new.encrypt("+14155550123").key_id == "k2"
    assert old.lookup_hash("+14155550123") == new.lookup_hash("+14155550123")


def test_tampered_or_unknown_key_ciphertext_is_refused() -> None:
    raw = _keys("k1")
    cipher = PhoneCipher(load_phone_keys(raw, "k1"), "k1", b"l" * 32)
    stored = cipher.encrypt("+14155550123")
    flipped = stored.ciphertext[:-1] + bytes([stored.ciphertext[-1] ^ 1])
    with pytest.raises(PhoneKeyError):
        cipher.decrypt(EncryptedPhone("k1", flipped))
    with pytest.raises(PhoneKeyError):
        cipher.decrypt(EncryptedPhone("k9", stored.ciphertext))


@pytest.mark.parametrize(
    ("raw", "active"),
    [({"k1": "c2hvcnQ"}, "k1"), ({"k1": "A" * 43}, "k1"), ({}, "k1")],
)
def test_weak_or_missing_phone_keys_are_refused(raw: dict[str, str], active: str) -> None:
    with pytest.raises(PhoneKeyError):
        load_phone_keys(raw, active)


def test_refresh_tokens_are_random_hashed_and_derive_one_child() -> None:
    codec = RefreshTokenCodec(b"p" * 32)
    token = codec.new_token()
    assert codec.is_well_formed(token)
    assert token != codec.new_token()
    assert codec.child_of(token) == codec.child_of(token)
    assert codec.child_of(token) != token
    assert codec.is_well_formed(codec.child_of(token))
    assert codec.digest(token) != RefreshTokenCodec(b"q" * 32).digest(token)
    assert not codec.is_well_formed("nrt_short")


async def test_a_retired_key_still_verifies_while_the_new_one_signs() -> None:
    old_raw, old_kid = generate_keyset_config("2026-10")
    new_raw, new_kid = generate_keyset_config("2026-11")
    old_public = {k: v for k, v in json.loads(old_raw)[0].items() if k != "d"}
    rotated = load_keyset(json.dumps([json.loads(new_raw)[0], old_public]), new_kid)
    verifier = JwtVerifier(StaticJwks(rotated.jwks()), issuer="iss", audience="aud")
    user = uuid.uuid4()
    for keyset in (load_keyset(old_raw, old_kid), rotated):
        token = keyset.sign_access_token(
            user_id=user,
            session_id="s1",
            role="driver",
            issuer="iss",
            audience="aud",
            ttl_seconds=60,
        )
        assert (await verifier.verify(token.token)).user_id == user


def test_es256_keys_are_accepted_and_other_curves_refused() -> None:
    p256 = json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1())))
    keyset = load_keyset(json.dumps([{**p256, "kid": "ec-1"}]), "ec-1")
    assert keyset.active.algorithm == "ES256"
    p384 = json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP384R1())))
    with pytest.raises(SigningKeyError):
        load_keyset(json.dumps([{**p384, "kid": "ec-2"}]), "ec-2")


@pytest.mark.parametrize(
    "raw",
    ["not json", "[]", '[{"kid": "x", "kty": "oct", "k": "c2VjcmV0"}]', '[{"kty": "OKP"}]'],
)
def test_unusable_keysets_are_refused(raw: str) -> None:
    with pytest.raises(SigningKeyError):
        load_keyset(raw, "x")


def test_public_only_active_key_is_refused() -> None:
    raw, kid = generate_keyset_config("pub")
    public = [{k: v for k, v in json.loads(raw)[0].items() if k != "d"}]
    with pytest.raises(SigningKeyError):
        load_keyset(json.dumps(public), kid)


def test_a_rotated_codec_finds_old_tokens_and_issues_children_under_the_new_pepper() -> None:
    old = RefreshTokenCodec(b"p" * 32)
    new = RefreshTokenCodec(b"q" * 32, [b"p" * 32])
    token = old.new_token()
    assert new.digests(token) == [new.digest(token), old.digest(token)]
    assert new.digest(token) == RefreshTokenCodec(b"q" * 32).digest(token)
    assert new.child_of(token) == RefreshTokenCodec(b"q" * 32).child_of(token)
    # the child issued before the rotation is recognised by its stored hash, and vice versa
    old_child = old.child_of(token)
    assert new.issued_child(token, old.digest(old_child)) == old_child
    assert new.issued_child(token, new.digest(new.child_of(token))) == new.child_of(token)
    assert RefreshTokenCodec(b"q" * 32).issued_child(token, old.digest(old_child)) is None
