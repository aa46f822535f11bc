"""The phone scheme every service shares: round trip, key rotation, lookup-key rotation, and
one service's ciphertext never opening in another's (their associated data differ)."""

from __future__ import annotations

import pytest
from auth.phone_crypto import PhoneCipher as AuthPhones
from common.phone_encryption import (
    PhoneEncryption,
    PhoneKeyError,
    generate_key_material,
    load_phone_keys,
)
from notifications.phone_vault import PhoneVault
from sessions.phone_crypto import PhoneCipher as MerchantPhones

PHONE = "+14155550123"


def keys(*ids: str) -> dict[str, bytes]:
    return load_phone_keys({i: generate_key_material() for i in ids}, ids[0])


def test_a_sealed_phone_opens_with_its_key_id_after_the_active_key_changed() -> None:
    material = keys("k1", "k2")
    old = PhoneEncryption(material, "k1", b"l" * 32, aad=b"test")
    sealed = old.seal(PHONE)
    new = PhoneEncryption(material, "k2", b"l" * 32, aad=b"test")
    assert sealed.key_id == "k1" and PHONE.encode() not in sealed.ciphertext
    assert new.open(sealed.key_id, sealed.ciphertext) == PHONE
    assert new.seal(PHONE).key_id == "k2"
    assert new.seal(PHONE).lookup_hash == sealed.lookup_hash
    with pytest.raises(PhoneKeyError, match="no key"):
        PhoneEncryption(keys("k3"), "k3", b"l" * 32, aad=b"test").open("k1", sealed.ciphertext)


def test_previous_lookup_keys_hash_as_they_did() -> None:
    material = keys("k1")
    before = PhoneEncryption(material, "k1", b"a" * 32, aad=b"test")
    during = PhoneEncryption(
        material, "k1", b"b" * 32, aad=b"test", previous_lookup_keys=[b"a" * 32]
    )
    assert during.lookup_key_rotating and not before.lookup_key_rotating
    assert during.previous_lookup_hashes(PHONE) == [before.lookup_hash(PHONE)]
    assert during.lookup_hash(PHONE) != before.lookup_hash(PHONE)


def test_one_services_ciphertext_does_not_open_in_another_with_the_same_keys() -> None:
    material, lookup = keys("k1"), b"l" * 32
    auth = AuthPhones(material, "k1", lookup)
    sessions = MerchantPhones(material, "k1", lookup)
    notifications = PhoneVault(material, "k1", lookup)
    from_auth = auth.encrypt(PHONE)
    assert auth.decrypt(from_auth) == PHONE
    for other in (sessions, notifications):
        with pytest.raises(PhoneKeyError, match="does not verify"):
            other.open(from_auth.key_id, from_auth.ciphertext)
    from_sessions = sessions.encrypt(PHONE)
    assert sessions.decrypt(from_sessions.key_id, from_sessions.ciphertext) == PHONE
    with pytest.raises(PhoneKeyError, match="does not verify"):
        notifications.open(from_sessions.key_id, from_sessions.ciphertext)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "JSON object"),
        ({"k1": "not base64!"}, "base64url"),
        ({"k1": "AAAA"}, "32 bytes"),
        ({"k1": "A" * 43}, "not random"),
    ],
)
def test_unusable_keys_are_refused(raw: dict[str, str], message: str) -> None:
    with pytest.raises(PhoneKeyError, match=message):
        load_phone_keys(raw, "k1")
