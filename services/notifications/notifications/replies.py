"""Pure rules of an inbound SMS: what the merchant said.

Normalised (trimmed, upper-cased, spaces collapsed, ``#.!`` dropped), then:

- ``DONE 4821`` (also ``OK`` / ``YES`` / ``CONFIRM``, the code optional) -> ``done`` + code;
- the carrier opt-out words (``STOP``, ``STOPALL``, ``UNSUBSCRIBE``, ``CANCEL``, ``END``,
  ``QUIT``, ``REVOKE``, ``OPTOUT``) -> ``stop``: the phone is opted out;
- ``START`` / ``UNSTOP`` -> ``other``, and the phone is opted back in;
- ``HELP`` / ``INFO`` -> ``help``; anything else -> ``other``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Keyword = Literal["done", "stop", "help", "other"]

STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
START_WORDS = frozenset({"START", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
_DONE = re.compile(r"^(?:DONE|OK|YES|CONFIRM)(?:\s+(\d{4}))?$")
_DROPPED = str.maketrans("", "", "#.!")


@dataclass(frozen=True)
class Reply:
    keyword: Keyword
    reply_code: str | None = None
    opt_in: bool = False

    @property
    def opt_out(self) -> bool:
        return self.keyword == "stop"


def parse_reply(body: str) -> Reply:
    text = " ".join(body.translate(_DROPPED).upper().split())
    first = text.split(" ", 1)[0] if text else ""
    if first in STOP_WORDS and text == first:
        return Reply("stop")
    if first in START_WORDS and text == first:
        return Reply("other", opt_in=True)
    if first in HELP_WORDS and text == first:
        return Reply("help")
    done = _DONE.match(text)
    if done:
        return Reply("done", done.group(1))
    return Reply("other")
