"""The generator is pure: no clock, no I/O, no concurrency (architecture.md; import-linter
will enforce it once the lead adds the contract — until then this test does)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import floorwatch.sim

PURE = ["config", "incidents", "model", "plans", "profile", "shifts"]
FORBIDDEN = {"time", "asyncio", "threading", "socket", "kafka", "sqlalchemy", "fastapi", "os", "subprocess"}
SIM = Path(floorwatch.sim.__file__).parent


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_no_clock_or_io(module: str) -> None:
    path = SIM / f"{module}.py"
    assert not imports(path) & FORBIDDEN
    assert ".now(" not in path.read_text(encoding="utf-8")


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import time\nfrom kafka import KafkaProducer\n", encoding="utf-8")
    assert imports(bad) & FORBIDDEN == {"time", "kafka"}
