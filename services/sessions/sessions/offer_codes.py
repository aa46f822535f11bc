"""Offer codes (shown to the merchant in the app) and reply codes (typed into an SMS reply).

- offer code: 8 characters of Crockford base32 (~40 bits), unique among a merchant's open
  sessions (a partial unique index); input is normalised the Crockford way (case, O→0, I/L→1,
  hyphens and spaces dropped), so a code read aloud or mistyped that way still matches.
- reply code: 4 digits (``DONE 4821``), unique among a merchant's open sessions.
"""

from __future__ import annotations

import re
import secrets

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
OFFER_CODE_LENGTH = 8
REPLY_CODE_LENGTH = 4
_OFFER_CODE = re.compile(rf"^[{CROCKFORD}]{{{OFFER_CODE_LENGTH}}}$")
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_offer_code() -> str:
    """Each character from 5 bits of one random byte (32 symbols divide 256: uniform), one
    read of the OS's randomness per code."""
    return "".join(CROCKFORD[b & 31] for b in secrets.token_bytes(OFFER_CODE_LENGTH))


def new_reply_code() -> str:
    return f"{secrets.randbelow(10**REPLY_CODE_LENGTH):0{REPLY_CODE_LENGTH}d}"


def normalise_offer_code(raw: str) -> str | None:
    """The canonical form of a typed code, or None when it cannot be an offer code."""
    text = raw.strip().upper().replace("-", "").replace(" ", "").translate(_CONFUSABLE)
    return text if _OFFER_CODE.match(text) else None


def normalise_reply_code(raw: str | None) -> str | None:
    if raw is None:
        return None
    text = raw.strip().lstrip("#")
    return text if len(text) == REPLY_CODE_LENGTH and text.isdigit() else None
