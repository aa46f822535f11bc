"""The fake PostHog project: the API key its capture endpoint accepts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

LOCAL_PROJECT_API_KEY = "phc_local_fake_posthog_project_key_0001"


@dataclass
class PostHogFakeConfig:
    api_key: str = LOCAL_PROJECT_API_KEY

    def update(self, data: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown PostHog fake settings: {', '.join(sorted(unknown))}")
        for key, value in data.items():
            setattr(self, key, value)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
