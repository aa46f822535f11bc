"""Each service has one settings class and one entrypoint, and nothing reads the environment
behind the settings' back. (The old system had two configs and two entrypoints, and production
ran the one nobody expected.)"""

from __future__ import annotations

import ast
import inspect
import pkgutil
from importlib import import_module
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from deploy.local.environment import SERVICES

ROOT = Path(__file__).resolve().parents[2]


def _modules(service: str) -> list[str]:
    package = import_module(service)
    return [f"{service}.{m.name}" for m in pkgutil.walk_packages(package.__path__)]


@pytest.mark.parametrize("service", SERVICES)
def test_one_settings_class_per_service(service: str) -> None:
    classes = {
        (obj.__module__, obj.__name__)
        for module in _modules(service)
        for _, obj in inspect.getmembers(import_module(module), inspect.isclass)
        if issubclass(obj, BaseSettings) and obj.__module__.startswith(f"{service}.")
    }
    assert classes == {(f"{service}.settings", f"{service.capitalize()}Settings")}


@pytest.mark.parametrize("service", SERVICES)
def test_one_entrypoint_per_service(service: str) -> None:
    factories: list[str] = []
    for path in (ROOT / "services" / service / service).rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in (
                "create_app",
                "app",
            ):
                factories.append(path.name)
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "FastAPI":
                factories.append(f"{path.name}: FastAPI()")
    assert factories == ["main.py"], factories
    dockerfile = (ROOT / "services" / service / "Dockerfile").read_text()
    assert f"{service}.main:create_app --factory" in dockerfile
