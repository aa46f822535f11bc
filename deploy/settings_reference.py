"""The configuration reference of every service as Markdown; ``--write`` updates the README.

For each setting: its environment variable, default, and whether production requires it. A
setting is required in prod when it has no default, or when the service's own startup check
(``unsafe_settings()``) names it for ENV=prod with the defaults.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from auth.settings import AuthSettings
from common.settings import Environment, ServiceSettings
from gateway.settings import GatewaySettings
from notifications.settings import NotificationsSettings
from payments.settings import PaymentsSettings
from sessions.settings import SessionsSettings

ROOT = Path(__file__).resolve().parents[1]
SETTINGS: dict[str, type[ServiceSettings]] = {
    "gateway": GatewaySettings,
    "auth": AuthSettings,
    "sessions": SessionsSettings,
    "notifications": NotificationsSettings,
    "payments": PaymentsSettings,
}


# What a production deployment necessarily chooses, so the probe sees that path's requirements.
PRODUCTION_CHOICES: dict[str, dict[str, Any]] = {"auth": {"otp_provider": "twilio_verify"}}
_NAME = re.compile(r"\b[A-Z][A-Z0-9_]{2,}\b")


def prod_requirements(service: str, cls: type[ServiceSettings]) -> dict[str, str]:
    """Setting name -> "yes" or "one of" (an alternative named in parentheses)."""
    probe = cls.model_construct(env=Environment.PROD, **PRODUCTION_CHOICES.get(service, {}))
    found: dict[str, str] = {name.upper(): "yes" for name in PRODUCTION_CHOICES.get(service, {})}
    for problem in probe.unsafe_settings():
        names = problem.split(":", 1)[0]
        required, _, alternatives = names.partition("(")
        for name in _NAME.findall(alternatives):
            found.setdefault(name, "one of")
        for name in _NAME.findall(required):
            found[name] = "one of" if alternatives else "yes"
    for name, field in cls.model_fields.items():
        if field.is_required():
            found[name.upper()] = "yes"
    return found


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
        required = prod_requirements(service, cls)
        lines += [
            f"#### {service}",
            "",
            "| setting | default | required in prod |",
            "|---|---|---|",
        ]
        for name, field in cls.model_fields.items():
            env_name = name.upper()
            need = required.get(env_name, "no")
            lines.append(f"| `{env_name}` | {_default(field)} | {need} |")
        lines.append("")
    return "\n".join(lines)


START, END = "<!-- settings-reference:start -->", "<!-- settings-reference:end -->"


def with_reference(readme: str) -> str:
    """The README text with the block between the markers replaced by the current reference."""
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{render()}{END}{tail}"


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        readme = ROOT / "README.md"
        readme.write_text(with_reference(readme.read_text()))
    else:
        sys.stdout.write(render() + "\n")
