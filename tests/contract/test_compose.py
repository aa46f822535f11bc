"""docker-compose.yml is validated here (no Docker engine runs on CI): every service builds from
a Dockerfile whose sources exist, runs after its migration job, sets only settings its settings
class knows, and only the gateway is published."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from auth.settings import AuthSettings
from gateway.settings import GatewaySettings
from notifications.settings import NotificationsSettings
from payments.settings import PaymentsSettings
from pydantic_settings import BaseSettings
from sessions.settings import SessionsSettings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS: dict[str, type[BaseSettings]] = {
    "gateway": GatewaySettings,
    "auth": AuthSettings,
    "sessions": SessionsSettings,
    "notifications": NotificationsSettings,
    "payments": PaymentsSettings,
}
WITH_SCHEMA = ("auth", "sessions", "notifications", "payments")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _copy_sources(dockerfile: Path) -> list[str]:
    sources: list[str] = []
    for line in dockerfile.read_text().splitlines():
        parts = line.split()
        if parts[:1] == ["COPY"] and not any(p.startswith("--from") for p in parts):
            sources.extend(p for p in parts[1:-1] if not p.startswith("--"))
    return sources


@pytest.mark.parametrize("name", [*SETTINGS, "fake-twilio", "fake-stripe"])
def test_every_image_builds_from_existing_sources(compose: dict[str, Any], name: str) -> None:
    build = compose["services"][name]["build"]
    assert build["context"] == "."
    dockerfile = ROOT / build["dockerfile"]
    assert dockerfile.is_file()
    for source in _copy_sources(dockerfile):
        assert (ROOT / source).exists(), f"{dockerfile}: COPY {source} does not exist"


@pytest.mark.parametrize("name", WITH_SCHEMA)
def test_services_start_after_their_migration_job(compose: dict[str, Any], name: str) -> None:
    services = compose["services"]
    job = services[f"migrate-{name}"]
    assert job["command"][:3] == ["alembic", "-c", f"services/{name}/alembic.ini"]
    assert job["restart"] == "no"
    deps = services[name]["depends_on"]
    assert deps[f"migrate-{name}"] == {"condition": "service_completed_successfully"}
    others = sorted(d for d in deps if d.startswith("migrate-") and d != f"migrate-{name}")
    assert not others, f"{name} waits for other services' migrations: {others}"


@pytest.mark.parametrize("name", SETTINGS)
def test_environment_names_are_settings_the_service_knows(
    compose: dict[str, Any], name: str
) -> None:
    fields = {f.upper() for f in SETTINGS[name].model_fields}
    unknown = set(compose["services"][name]["environment"]) - fields
    assert not unknown, f"{name} does not read {sorted(unknown)}"


def test_only_the_gateway_is_published(compose: dict[str, Any]) -> None:
    published = [n for n, s in compose["services"].items() if s.get("ports")]
    assert published == ["gateway"]
    assert compose["networks"]["internal"]["internal"] is True
    for name in WITH_SCHEMA:
        assert compose["services"][name]["networks"] == ["internal"]


def test_ports_match_each_service_default(compose: dict[str, Any]) -> None:
    for name, settings in SETTINGS.items():
        port = compose["services"][name]["environment"]["HTTP_PORT"]
        assert int(port) == settings.model_fields["http_port"].default
        healthcheck = " ".join(compose["services"][name]["healthcheck"]["test"])
        assert re.search(rf"127\.0\.0\.1:{port}/", healthcheck)
