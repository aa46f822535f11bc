import pytest
from common.errors import AppError
from sessions.merchant_rules import (
    MerchantLimits,
    check_billing,
    check_reward,
    e164_phone,
    mask_phone,
)

LIMITS = MerchantLimits(
    billing_min_minor=50,
    billing_max_minor=10_000,
    currencies=("USD",),
    reward_max=1_000,
    phone_country_codes=("1",),
)


@pytest.mark.parametrize(
    "raw", ["4155550123", "+1 415 555 0123", "+1415555012", "+0415555012", "+14155550123x", ""]
)
def test_non_e164_phones_are_refused(raw: str) -> None:
    with pytest.raises(AppError) as caught:
        e164_phone(raw, LIMITS.phone_country_codes)
    assert caught.value.instance_code == "invalid_phone_number"
    assert caught.value.status == 422


def test_other_countries_are_refused_and_valid_numbers_pass() -> None:
    assert e164_phone("+14155550123", ["1"]) == "+14155550123"
    with pytest.raises(AppError):
        e164_phone("+447911123456", ["1"])


def test_masking_keeps_the_last_four_digits() -> None:
    assert mask_phone("+14155550123") == "+1******0123"


@pytest.mark.parametrize(
    ("amount", "currency", "code"),
    [
        (0, "USD", "billing_amount_out_of_range"),
        (-100, "USD", "billing_amount_out_of_range"),
        (49, "USD", "billing_amount_out_of_range"),
        (10_001, "USD", "billing_amount_out_of_range"),
        (10**15, "USD", "billing_amount_out_of_range"),
        (500, "EUR", "currency_not_supported"),
    ],
)
def test_billing_outside_the_configured_range_is_refused(
    amount: int, currency: str, code: str
) -> None:
    with pytest.raises(AppError) as caught:
        check_billing(amount, currency, LIMITS)
    assert caught.value.instance_code == code


def test_billing_and_reward_within_range_pass() -> None:
    check_billing(50, "USD", LIMITS)
    check_billing(10_000, "USD", LIMITS)
    check_reward(0, LIMITS)
    with pytest.raises(AppError):
        check_reward(1_001, LIMITS)
    with pytest.raises(AppError):
        check_reward(-1, LIMITS)
