"""The documentation stays true to the code: generated references current, README short.

``docs/configuration.md`` and the gateway tables of ``docs/operations.md`` are produced from the
settings classes by ``uv run python -m deploy.settings_reference --write``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deploy.settings_reference import BLOCKS, CONFIGURATION, ROOT, SETTINGS, current

README = ROOT / "README.md"
README_MAX_LINES = 200


@pytest.mark.parametrize("path", list(BLOCKS), ids=lambda p: p.name)
def test_generated_reference_is_current(path: Path) -> None:
    assert path.read_text() == current(path), (
        f"{path.relative_to(ROOT)} is stale: "
        "run `uv run python -m deploy.settings_reference --write`"
    )


def test_every_setting_of_every_service_is_documented() -> None:
    reference = CONFIGURATION.read_text()
    for service, cls in SETTINGS.items():
        for name in cls.model_fields:
            assert f"`{name.upper()}`" in reference, f"{service}: {name.upper()} is missing"


def test_readme_is_short_and_points_to_the_reference() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= README_MAX_LINES
    assert "settings-reference:start" not in text, "the settings tables live in docs/"
    assert "docs/configuration.md" in text


def _anchor(heading: str) -> str:
    """The anchor a Markdown renderer gives a heading (GitHub's rule)."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(document: Path) -> set[str]:
    headings = re.findall(r"^#{1,6} (.+)$", document.read_text(), flags=re.MULTILINE)
    return {_anchor(heading) for heading in headings}


def test_relative_links_of_the_docs_resolve() -> None:
    documents = [README, *sorted((ROOT / "docs").glob("*.md"))]
    documents += sorted((ROOT / "services").glob("*/README.md"))
    broken = []
    for document in documents:
        for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", document.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            linked = (document.parent / target) if target else document
            if not linked.exists():
                broken.append(f"{document.relative_to(ROOT)} -> {target}")
            elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
                broken.append(f"{document.relative_to(ROOT)} -> {target}#{anchor}")
    assert not broken, broken


_CITATION = re.compile(r"(docs/[\w-]+\.md|services/[\w-]+/README\.md)(?: §(\d+(?:\.\d+)*))?")
_CODE_FOLDERS = ("libs", "services", "tools", "tests", "bench", "deploy")


def test_documents_cited_by_the_code_exist_with_their_sections() -> None:
    broken = []
    for folder in _CODE_FOLDERS:
        for module in sorted((ROOT / folder).rglob("*.py")):
            if ".venv" in module.parts:
                continue
            for path, section in _CITATION.findall(module.read_text()):
                document = ROOT / path
                if not document.exists():
                    broken.append(f"{module.relative_to(ROOT)}: {path}")
                    continue
                heading = re.compile(rf"^#{{1,6}} {re.escape(section)}[.\s]", re.MULTILINE)
                if section and not heading.search(document.read_text()):
                    broken.append(f"{module.relative_to(ROOT)}: {path} §{section}")
    assert not broken, broken
