"""Stripe's form encoding of nested parameters (``metadata[k]=v``, ``created[gte]=1``, ``a[0]``)."""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

from tests.fakes.stripe.errors import invalid, missing

_SEGMENT = re.compile(r"\[([^\]]*)\]")
_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


def _listify(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _listify(v) for k, v in node.items()}
        if node and all(k.isdigit() or k == "" for k in node):
            return [node[k] for k in sorted(node, key=lambda k: int(k or 0))]
    return node


def decode(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Nest bracketed keys.

    ``[("metadata[a]", "1"), ("expand[0]", "x")]`` -> ``{"metadata": {"a": "1"}, "expand": ["x"]}``
    """
    root: dict[str, Any] = {}
    for key, value in pairs:
        head = key.split("[", 1)[0]
        segments = [head, *_SEGMENT.findall(key[len(head) :])]
        node = root
        for i, segment in enumerate(segments[:-1]):
            child = node.get(segment)
            if not isinstance(child, dict):
                child = {}
                node[segment] = child
            if segments[i + 1] == "":
                segments[i + 1] = str(len(child))
            node = child
        node[segments[-1]] = value
    decoded: dict[str, Any] = _listify(root)
    return decoded


def amount(params: dict[str, Any], name: str = "amount") -> int:
    raw = params.get(name)
    if raw in (None, ""):
        raise missing(name)
    try:
        value = int(str(raw))
    except ValueError:
        raise invalid(
            f"Invalid integer: {raw}", param=name, code="parameter_invalid_integer"
        ) from None
    if value <= 0:
        raise invalid("This value must be greater than or equal to 1.", param=name)
    return value


def currency(params: dict[str, Any]) -> str:
    raw = params.get("currency")
    if not raw:
        raise missing("currency")
    if not isinstance(raw, str) or not re.fullmatch(r"[A-Za-z]{3}", raw):
        raise invalid(f"Invalid currency: {raw}.", param="currency")
    return raw.lower()


def metadata(params: dict[str, Any]) -> dict[str, str]:
    raw = params.get("metadata") or {}
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise invalid("Invalid object", param="metadata")
    return {str(k): str(v) for k, v in raw.items()}


def boolean(params: dict[str, Any], name: str) -> bool:
    raw = params.get(name)
    if raw in (None, "", "false"):
        return False
    if raw == "true":
        return True
    raise invalid(f"Invalid boolean: {raw}", param=name, code="parameter_invalid_boolean")


def limit(params: dict[str, Any]) -> int:
    raw = params.get("limit", "10")
    try:
        value = int(str(raw))
    except ValueError:
        raise invalid(f"Invalid integer: {raw}", param="limit") from None
    if not 1 <= value <= 100:
        raise invalid("This value must be between 1 and 100.", param="limit")
    return value


def created_filter(params: dict[str, Any]) -> dict[str, int]:
    raw = params.get("created")
    if raw is None:
        return {}
    if isinstance(raw, str):
        return {"eq": int(raw)}
    return {op: int(v) for op, v in raw.items() if op in ("gt", "gte", "lt", "lte")}


def created_matches(created: int, bounds: dict[str, int]) -> bool:
    checks = {
        "eq": created == bounds.get("eq", created),
        "gt": created > bounds.get("gt", created - 1),
        "gte": created >= bounds.get("gte", created),
        "lt": created < bounds.get("lt", created + 1),
        "lte": created <= bounds.get("lte", created),
    }
    return all(checks.values())
