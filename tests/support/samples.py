"""Random values a test uses so that runs and tests never share state: phones, client IPs,
queue and message-type names."""

from __future__ import annotations

import secrets
import uuid


def random_phone() -> str:
    """A US number in E.164 (``+1415…``), different for every call in practice."""
    return f"+1415{secrets.randbelow(10_000_000):07d}"


def random_ip() -> str:
    """A private 10.x address, so per-IP limits of one test never touch another's."""
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


def unique(prefix: str) -> str:
    """``prefix`` plus 8 random hex characters (queue names, message types)."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"
