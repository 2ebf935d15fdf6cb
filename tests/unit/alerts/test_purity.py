"""The core stays pure: only stdlib, msgspec and the event model; the rules-file reader also reads
YAML and describes the file with pydantic (yaml, pydantic, ``shared.yaml*``).

(import-linter's forbidden contract says the same; this test also pins the allowed third parties.)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import services.alerts.core as core

CORE = Path(core.__file__).parent
FORBIDDEN = {
    "asyncio",
    "threading",
    "time",
    "socket",
    "logging",
    "kafka",
    "sqlalchemy",
    "fastapi",
    "starlette",
    "prometheus_client",
    "uvicorn",
    "random",
    "os",
    "subprocess",
}
ALLOWED_THIRD_PARTY = {"msgspec", "yaml"}
YAML_READER = "rules/reader/"  # the rules-file reader, the only package that may read YAML
READER_ONLY = {"yaml", "pydantic", "pydantic_core"}  # and shared.yamldoc / yamlmodel / yamltypes
MODULES = sorted(CORE.rglob("*.py"))  # every sub-package too: nothing escapes


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def _rel(path: Path) -> str:
    return path.relative_to(CORE).as_posix()


def test_every_core_module_is_checked() -> None:
    """The parametrization below sees the sub-packages' modules, not only the top folder's."""
    assert any(len(path.relative_to(CORE).parts) > 1 for path in MODULES)
    assert len(MODULES) > len(list(CORE.glob("*.py")))


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_core_module_imports(path: Path) -> None:
    rel = _rel(path)
    for name in imports(path):
        root = name.split(".")[0]
        assert root not in FORBIDDEN, f"{rel} imports {name}"
        if root in ("floorwatch", "services", "shared"):
            reader = name in ("shared.yamldoc", "shared.yamlmodel", "shared.yamltypes")
            assert name == "shared.events" or (reader and rel.startswith(YAML_READER)), (
                f"{rel} imports {name}"
            )
        elif root in READER_ONLY:
            assert rel.startswith(YAML_READER), f"{rel} imports {name}"
        else:
            assert root in sys.stdlib_module_names or root in ALLOWED_THIRD_PARTY, f"{rel} imports {name}"
