"""Prints the configuration reference of every service as Markdown (pasted into the README).

For each setting: its environment variable, default, and whether production requires it. A
setting is required in prod when it has no default, or when the service's own startup check
(``unsafe_settings()``) names it for ENV=prod with the defaults.
"""

from __future__ import annotations

import sys
from typing import Any

from auth.settings import AuthSettings
from common.settings import Environment, ServiceSettings
from gateway.settings import GatewaySettings
from notifications.settings import NotificationsSettings
from payments.settings import PaymentsSettings
from sessions.settings import SessionsSettings

SETTINGS: dict[str, type[ServiceSettings]] = {
    "gateway": GatewaySettings,
    "auth": AuthSettings,
    "sessions": SessionsSettings,
    "notifications": NotificationsSettings,
    "payments": PaymentsSettings,
}


def required_in_prod(cls: type[ServiceSettings]) -> set[str]:
    probe = cls.model_construct(env=Environment.PROD)
    named = {problem.split(":", 1)[0].strip() for problem in probe.unsafe_settings()}
    missing = {n.upper() for n, f in cls.model_fields.items() if f.is_required() and n != "env"}
    return {n for n in named | missing if n.isupper()}


def _default(field: Any) -> str:
    if field.is_required():
        return "—"
    value = field.get_default(call_default_factory=True)
    if hasattr(value, "get_secret_value"):
        return "(secret)"
    if isinstance(value, str) and value == "":
        return '""'
    text = str(value.value if hasattr(value, "value") else value)
    return f"`{text}`" if text not in ("None", "") else "unset"


def render() -> str:
    lines: list[str] = []
    for service, cls in SETTINGS.items():
        required = required_in_prod(cls)
        lines += [
            f"#### {service}",
            "",
            "| setting | default | required in prod |",
            "|---|---|---|",
        ]
        for name, field in cls.model_fields.items():
            env_name = name.upper()
            need = "yes" if env_name in required or name == "env" else "no"
            lines.append(f"| `{env_name}` | {_default(field)} | {need} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render() + "\n")
