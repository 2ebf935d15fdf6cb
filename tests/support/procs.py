"""Run Floorwatch commands as real child processes (for crash and end-to-end tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shared.config import Settings


def env_for(settings: Settings, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "FLOORWATCH_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "FLOORWATCH_TOPIC_PREFIX": settings.topic_prefix,
        "FLOORWATCH_DATABASE_URL": settings.database_url,
        "FLOORWATCH_PARTITIONS": str(settings.partitions),
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "floorwatch.cli", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
