"""Rules for what a merchant may be saved with: E.164 phone, billing range, currency, reward."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sessions.errors import (
    BillingAmountOutOfRangeError,
    CurrencyNotSupportedError,
    InvalidPhoneNumberError,
    RewardOutOfRangeError,
)

E164_PATTERN = r"^\+[1-9]\d{7,14}$"
_E164 = re.compile(E164_PATTERN)


@dataclass(frozen=True)
class MerchantLimits:
    billing_min_minor: int
    billing_max_minor: int
    currencies: tuple[str, ...]
    reward_max: int
    phone_country_codes: tuple[str, ...]


def e164_phone(raw: str, country_codes: Sequence[str]) -> str:
    """``raw`` itself when it is an E.164 number of an allowed country; no reformatting."""
    if not _E164.match(raw):
        raise InvalidPhoneNumberError(
            "The notification phone must be in E.164 form, e.g. +14155550123."
        )
    digits = raw[1:]
    if not any(digits.startswith(cc) for cc in country_codes):
        raise InvalidPhoneNumberError("Notification phones of this country are not supported.")
    if digits.startswith("1") and len(digits) != 11:
        raise InvalidPhoneNumberError("A +1 number has exactly 10 digits after the country code.")
    return raw


def mask_phone(e164: str) -> str:
    """``+1******0123``: enough for the owner to recognise, useless to anyone else."""
    digits = e164[1:]
    return "+" + digits[0] + "*" * (len(digits) - 5) + digits[-4:]


def check_billing(amount_minor: int, currency: str, limits: MerchantLimits) -> None:
    if currency not in limits.currencies:
        raise CurrencyNotSupportedError(
            "Billing currency must be one of: " + ", ".join(limits.currencies) + ".",
            supported=list(limits.currencies),
        )
    if not limits.billing_min_minor <= amount_minor <= limits.billing_max_minor:
        raise BillingAmountOutOfRangeError(
            f"billing_amount_minor must be between {limits.billing_min_minor} and "
            f"{limits.billing_max_minor}.",
            minimum=limits.billing_min_minor,
            maximum=limits.billing_max_minor,
        )


def check_reward(reward_nova: int, limits: MerchantLimits) -> None:
    if not 0 <= reward_nova <= limits.reward_max:
        raise RewardOutOfRangeError(
            f"reward_nova must be between 0 and {limits.reward_max}.", maximum=limits.reward_max
        )
