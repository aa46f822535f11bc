from sessions.offer_codes import (
    CROCKFORD,
    new_offer_code,
    new_reply_code,
    normalise_offer_code,
    normalise_reply_code,
)


def test_offer_codes_use_the_unambiguous_alphabet() -> None:
    codes = {new_offer_code() for _ in range(2000)}
    assert len(codes) == 2000  # 40 bits: no collision in a small sample
    assert all(len(c) == 8 and set(c) <= set(CROCKFORD) for c in codes)
    assert not any(ch in "".join(codes) for ch in "ILOU")


def test_typed_codes_are_normalised_the_crockford_way() -> None:
    assert normalise_offer_code(" ab1o-ilx9 ") == "AB1011X9"
    assert normalise_offer_code("ABCD1234") == "ABCD1234"


def test_what_cannot_be_an_offer_code_is_none() -> None:
    for raw in ("", "ABC", "ABCDEFGHJ", "ABCD123U", "ABCD12$4"):
        assert normalise_offer_code(raw) is None


def test_reply_codes_are_four_digits() -> None:
    codes = [new_reply_code() for _ in range(500)]
    assert all(len(c) == 4 and c.isdigit() for c in codes)
    assert normalise_reply_code("#0042") == "0042"
    assert normalise_reply_code("42") is None
    assert normalise_reply_code(None) is None
    assert normalise_reply_code("12a4") is None


def test_every_symbol_appears_in_every_position() -> None:
    codes = [new_offer_code() for _ in range(4000)]
    for position in range(8):
        assert {c[position] for c in codes} == set(CROCKFORD)
