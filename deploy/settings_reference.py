"""The configuration reference as Markdown, generated from the settings classes.

``uv run python -m deploy.settings_reference --write`` rewrites the generated blocks of
``docs/configuration.md`` (one table of the settings shared through the bases in ``libs/``, one
table per service of its own settings) and of ``docs/operations.md`` (the gateway's default route
table and rate limits). Without ``--write`` it prints the configuration tables. The contract test
``tests/contract/test_readme.py`` fails when a block is stale.

For each setting: its environment variable, default, whether production requires it, and what it
does. A setting is required in prod when it has no default, or when the service's own startup
check (``unsafe_settings()``) names it for ENV=prod with the defaults. The description is the
field's ``description``, else the docstring under the attribute, else
``deploy.setting_descriptions.DESCRIPTIONS``.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from auth.settings import AuthSettings
from common.settings import Environment, ServiceSettings
from gateway.settings import GatewaySettings
from notifications.settings import NotificationsSettings
from payments.settings import PaymentsSettings
from sessions.settings import SessionsSettings

from deploy.setting_descriptions import DESCRIPTIONS

ROOT = Path(__file__).resolve().parents[1]
CONFIGURATION = ROOT / "docs" / "configuration.md"
OPERATIONS = ROOT / "docs" / "operations.md"
SETTINGS: dict[str, type[ServiceSettings]] = {
    "gateway": GatewaySettings,
    "auth": AuthSettings,
    "sessions": SessionsSettings,
    "notifications": NotificationsSettings,
    "payments": PaymentsSettings,
}

# What a production deployment necessarily chooses, so the probe sees that path's requirements.
PRODUCTION_CHOICES: dict[str, dict[str, Any]] = {"auth": {"otp_provider": "twilio_verify"}}
# Defaults too large for a table cell: where the reader finds them instead.
LONG_DEFAULTS = {
    "ROUTES": "[route table](operations.md#route-table)",
    "RATE_LIMITS": "[rate limits](operations.md#rate-limits)",
}
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


def _service_package(cls: type) -> str:
    return cls.__module__.split(".", 1)[0]


def _declaring(cls: type[ServiceSettings], name: str) -> list[type]:
    """The classes of ``cls``'s MRO that declare the field ``name``, nearest first."""
    return [k for k in cls.__mro__ if name in vars(k).get("__annotations__", {})]


def _shared_declarer(cls: type[ServiceSettings], name: str) -> type | None:
    """The nearest base outside the service's package that declares ``name`` (None: own)."""
    own = _service_package(cls)
    shared = [k for k in _declaring(cls, name) if _service_package(k) != own]
    return shared[0] if shared else None


@cache
def _attribute_docstrings(cls: type) -> dict[str, str]:
    """``name -> docstring`` of the string literals written right under a class attribute."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    body = ast.parse(source).body[0]
    found: dict[str, str] = {}
    if not isinstance(body, ast.ClassDef):
        return found
    for node, following in zip(body.body, body.body[1:], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            text = " ".join(following.value.value.split()).replace("``", "`")
            found[node.target.id] = text.removesuffix(".")
    return found


def describe(cls: type[ServiceSettings], name: str) -> str:
    field = cls.model_fields[name]
    if field.description:
        return " ".join(field.description.split())
    for klass in _declaring(cls, name):
        text = _attribute_docstrings(klass).get(name)
        if text:
            return text
    return DESCRIPTIONS.get(name.upper(), "")


def _default(env_name: str, field: Any) -> str:
    if env_name in LONG_DEFAULTS:
        return LONG_DEFAULTS[env_name]
    if field.is_required():
        return "—"
    value = field.get_default(call_default_factory=True)
    if hasattr(value, "get_secret_value"):
        return "(secret)"
    if isinstance(value, str) and value == "":
        return '""'
    text = str(value.value if hasattr(value, "value") else value)
    return f"`{text}`" if text not in ("None", "") else "unset"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


@dataclass(frozen=True)
class SharedSetting:
    env_name: str
    base: type
    default: str
    required: dict[str, str]  # service -> "yes" | "one of" | "no"
    description: str

    @property
    def used_by(self) -> str:
        missing = [service for service in SETTINGS if service not in self.required]
        if not missing:
            return "every service"
        if len(missing) == 1:
            return f"every service but {missing[0]}"
        return ", ".join(self.required)

    @property
    def required_in_prod(self) -> str:
        answers = set(self.required.values())
        if len(answers) == 1:
            return answers.pop()
        return "; ".join(f"{need} ({service})" for service, need in self.required.items())


def shared_settings() -> list[SharedSetting]:
    """Every setting a base in ``libs/`` declares, grouped by the base, in declaration order."""
    rows: dict[str, SharedSetting] = {}
    bases: list[type] = []
    for service, cls in SETTINGS.items():
        required = prod_requirements(service, cls)
        for name in cls.model_fields:
            base = _shared_declarer(cls, name)
            if base is None:
                continue
            env_name = name.upper()
            if base not in bases:
                bases.append(base)
            if env_name not in rows:
                field = base.model_fields[name]  # type: ignore[attr-defined]
                rows[env_name] = SharedSetting(
                    env_name, base, _default(env_name, field), {}, describe(cls, name)
                )
            rows[env_name].required[service] = required.get(env_name, "no")
    # The base every service extends first, then the mixins in the order they are met.
    rank = {base: (not issubclass(base, ServiceSettings), i) for i, base in enumerate(bases)}
    return sorted(rows.values(), key=lambda row: rank[row.base])


def render() -> str:
    lines = [
        "### Shared settings",
        "",
        "Declared by the settings bases in `libs/`; a service has the ones of the bases it",
        "extends (column *used by*). A service may set its own default (next section).",
        "",
        "| setting | default | required in prod | used by | declared in | what it does |",
        "|---|---|---|---|---|---|",
    ]
    for row in shared_settings():
        base = f"`{row.base.__module__}.{row.base.__qualname__}`"
        lines.append(
            f"| `{row.env_name}` | {row.default} | {row.required_in_prod} | {row.used_by} "
            f"| {base} | {_cell(row.description)} |"
        )
    for service, cls in SETTINGS.items():
        required = prod_requirements(service, cls)
        lines += [
            "",
            f"### {service}",
            "",
            f"`{cls.__module__}.{cls.__qualname__}`: its own settings, and shared ones it gives",
            "a default of its own (marked *shared*).",
            "",
            "| setting | default | required in prod | what it does |",
            "|---|---|---|---|",
        ]
        for name, field in cls.model_fields.items():
            own = _service_package(cls)
            if all(_service_package(k) != own for k in _declaring(cls, name)):
                continue
            env_name = name.upper()
            shared = " (*shared*)" if _shared_declarer(cls, name) else ""
            lines.append(
                f"| `{env_name}`{shared} | {_default(env_name, field)} "
                f"| {required.get(env_name, 'no')} | {_cell(describe(cls, name))} |"
            )
    return "\n".join(lines) + "\n"


def _limit(spec: Any) -> str:
    if spec is None:
        return "—"
    burst = f", burst {spec.burst}" if spec.burst else ""
    return f"{spec.limit} per {spec.period_seconds:g} s{burst}"


def render_routes() -> str:
    defaults = GatewaySettings.model_fields["routes"].get_default(call_default_factory=True)
    lines = [
        "| prefix | methods | upstream | rate-limit class | token |",
        "|---|---|---|---|---|",
    ]
    for spec in defaults:
        methods = ", ".join(spec.methods) if spec.methods else "any"
        if spec.upstream == "admin":
            upstream = "the service named by the next segment, path `/v1/admin/<rest>`"
            token = "role `admin`"
        else:
            upstream = spec.upstream
            token = "none (public)" if spec.public else "required"
        lines.append(f"| `{spec.prefix}` | {methods} | {upstream} | {spec.route_class} | {token} |")
    return "\n".join(lines) + "\n"


def render_rate_limits() -> str:
    defaults = GatewaySettings.model_fields["rate_limits"].get_default(call_default_factory=True)
    lines = [
        "| class | per client IP | per user (token `sub`) | when Redis is down |",
        "|---|---|---|---|",
    ]
    for route_class, limits in defaults.items():
        outage = "let through (counted)" if limits.fail_open else "503 `rate_limiter_unavailable`"
        lines.append(
            f"| {route_class} | {_limit(limits.per_ip)} | {_limit(limits.per_user)} | {outage} |"
        )
    return "\n".join(lines) + "\n"


# document -> block name -> renderer
BLOCKS: dict[Path, dict[str, Callable[[], str]]] = {
    CONFIGURATION: {"settings-reference": render},
    OPERATIONS: {"route-table": render_routes, "rate-limits": render_rate_limits},
}


def markers(block: str) -> tuple[str, str]:
    return f"<!-- {block}:start -->", f"<!-- {block}:end -->"


def with_block(text: str, block: str, content: str) -> str:
    """``text`` with the lines between the block's markers replaced by ``content``."""
    start, end = markers(block)
    if start not in text or end not in text:
        raise ValueError(f"markers {start} … {end} are missing")
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    return f"{head}{start}\n{content}{end}{tail}"


def current(path: Path) -> str:
    """The document's text with every generated block brought up to date."""
    text = path.read_text()
    for block, renderer in BLOCKS[path].items():
        text = with_block(text, block, renderer())
    return text


def main(argv: list[str]) -> int:
    if argv == ["--write"]:
        for path in BLOCKS:
            path.write_text(current(path))
        return 0
    if argv:
        sys.stderr.write("usage: python -m deploy.settings_reference [--write]\n")
        return 2
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
