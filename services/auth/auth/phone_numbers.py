"""Phone numbers: E.164 normalisation, the country allow-list, and the masked display form."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_SEPARATORS = re.compile(r"[\s().-]")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")


class PhoneNumberError(ValueError):
    """The input is not a phone number in E.164 form."""


class PhoneRegionError(ValueError):
    """A valid number in a country we do not serve."""


@dataclass(frozen=True)
class PhoneNumber:
    e164: str

    def masked(self) -> str:
        """``+1******4567``: enough for the owner to recognise, useless to anyone else."""
        return mask_e164(self.e164)

    def __repr__(self) -> str:
        return f"PhoneNumber({self.masked()})"

    __str__ = __repr__


def mask_e164(e164: str) -> str:
    digits = e164[1:]
    return "+" + digits[0] + "*" * (len(digits) - 5) + digits[-4:]


def parse_phone(raw: str, allowed_country_codes: Sequence[str]) -> PhoneNumber:
    """Normalises ``raw`` to E.164 (``+`` and 8-15 digits) and checks the country allow-list."""
    text = _SEPARATORS.sub("", raw.strip())
    if text.startswith("00"):
        text = "+" + text[2:]
    if not _E164.match(text):
        raise PhoneNumberError(
            "The phone number must be in international format, e.g. +14155550123."
        )
    digits = text[1:]
    if not any(digits.startswith(cc) for cc in allowed_country_codes):
        raise PhoneRegionError("Sign-in by SMS is not available for this country yet.")
    if digits.startswith("1") and len(digits) != 11:
        raise PhoneNumberError("A +1 number has exactly 10 digits after the country code.")
    return PhoneNumber(e164=text)
