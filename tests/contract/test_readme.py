"""The README's configuration reference is the one the settings classes produce."""

from __future__ import annotations

from deploy.settings_reference import ROOT, SETTINGS, with_reference


def test_readme_configuration_reference_is_current() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme == with_reference(readme), (
        "README configuration reference is stale: run "
        "`uv run python -m deploy.settings_reference --write`"
    )


def test_every_setting_of_every_service_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    for cls in SETTINGS.values():
        for name in cls.model_fields:
            assert f"`{name.upper()}`" in readme
