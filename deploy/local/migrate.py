"""Creates the local database when missing and applies every service's migrations.

A separate step: no service runs migrations at startup. ``DATABASE_URL`` overrides the target.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import asyncpg

from deploy.local.environment import DATABASE_URL, SERVICES_WITH_SCHEMA

ROOT = Path(__file__).resolve().parents[2]
logger = logging.getLogger("migrate")


async def ensure_database(url: str) -> None:
    server, _, name = url.replace("postgresql+asyncpg", "postgresql").rpartition("/")
    conn = await asyncpg.connect(f"{server}/postgres")
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
            logger.info("created database %s", name)
    finally:
        await conn.close()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="migrate: %(message)s")
    url = os.environ.get("DATABASE_URL", DATABASE_URL)
    asyncio.run(ensure_database(url))
    for service in SERVICES_WITH_SCHEMA:
        ini = ROOT / "services" / service / "alembic.ini"
        cmd = [
            sys.executable,
            "-m",
            "alembic",
            "-c",
            str(ini),
            "-x",
            f"database_url={url}",
            "upgrade",
            "head",
        ]
        if subprocess.run(cmd, cwd=ROOT, check=False).returncode != 0:
            logger.error("migrations of %s failed", service)
            return 1
        logger.info("%s: schema at head", service)
    return 0


if __name__ == "__main__":
    sys.exit(main())
