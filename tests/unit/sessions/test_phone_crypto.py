import pytest
from sessions.phone_crypto import PhoneCipher, PhoneKeyError, generate_key_material, load_phone_keys


def _cipher(active: str = "k1", **extra: str) -> PhoneCipher:
    raw = {"k1": generate_key_material(), **extra}
    return PhoneCipher(load_phone_keys(raw, active), active, b"l" * 16 + bytes(range(16)))


def test_round_trip_and_no_plaintext_at_rest() -> None:
    cipher = _cipher()
    sealed = cipher.encrypt("+14155550123")
    assert b"4155550123" not in sealed.ciphertext
    assert cipher.decrypt(sealed.key_id, sealed.ciphertext) == "+14155550123"
    assert sealed.lookup_hash == cipher.lookup_hash("+14155550123")
    assert cipher.encrypt("+14155550123").ciphertext != sealed.ciphertext  # fresh nonce


def test_old_rows_decrypt_after_the_active_key_changes() -> None:
    k1 = generate_key_material()
    old = PhoneCipher(load_phone_keys({"k1": k1}, "k1"), "k1", b"x" * 32)
    sealed = old.encrypt("+14155550123")
    new = PhoneCipher(
        load_phone_keys({"k1": k1, "k2": generate_key_material()}, "k2"), "k2", b"x" * 32
    )
    assert new.decrypt(sealed.key_id, sealed.ciphertext) == "+14155550123"
    assert new.encrypt("+14155550123").key_id == "k2"


def test_tampered_ciphertext_and_bad_keys_are_refused() -> None:
    cipher = _cipher()
    sealed = cipher.encrypt("+14155550123")
    with pytest.raises(PhoneKeyError):
        cipher.decrypt(sealed.key_id, sealed.ciphertext[:-1] + b"\x00")
    with pytest.raises(PhoneKeyError):
        load_phone_keys({"k1": "short"}, "k1")
    with pytest.raises(PhoneKeyError):
        load_phone_keys({"k1": generate_key_material()}, "k9")
