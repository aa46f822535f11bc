"""Recipients' phone numbers at rest: the shared scheme (``common.phone_encryption``) with
notifications' own keys and associated data; the lookup hash serves the equality lookups
(opt-outs, reply matching) without decryption. And how ops screens show a number (``mask``)."""

from __future__ import annotations

from collections.abc import Mapping

from common.phone_encryption import (
    PhoneEncryption,
    PhoneKeyError,
    SealedPhone,
    generate_key_material,
    load_phone_keys,
)

__all__ = [
    "PhoneKeyError",
    "PhoneVault",
    "SealedPhone",
    "generate_key_material",
    "load_phone_keys",
    "mask",
]

_AAD = b"nerava.notifications.phone.v1"


class PhoneVault(PhoneEncryption):
    def __init__(self, keys: Mapping[str, bytes], active_id: str, lookup_key: bytes) -> None:
        super().__init__(keys, active_id, lookup_key, aad=_AAD)


def mask(e164: str) -> str:
    """``+1•••••0123``: the country code and the last four digits, for ops screens."""
    if len(e164) < 7:
        return "•" * len(e164)
    return e164[:2] + "•" * (len(e164) - 6) + e164[-4:]
