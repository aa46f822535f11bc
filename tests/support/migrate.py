"""Applies every service's migrations to a database, as ``make migrate`` does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES_WITH_SCHEMA = ("auth", "sessions", "notifications", "payments")


def migrate_all(database_url: str) -> None:
    for service in SERVICES_WITH_SCHEMA:
        ini = ROOT / "services" / service / "alembic.ini"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "alembic",
                "-c",
                str(ini),
                "-x",
                f"database_url={database_url}",
                "upgrade",
                "head",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=ROOT,
        )
        if done.returncode != 0:
            raise RuntimeError(f"migrations of {service} failed:\n{done.stderr}")
