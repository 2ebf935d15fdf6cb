"""The architecture's rules are checked, not hoped for.

* import-linter's contracts in pyproject.toml hold (pure core without I/O frameworks or the clock;
  services independent of each other; the alert core's layers; composition roots over services over
  shared);
* import-linter sees every module of the three top-level packages, and a planted violation of each
  kind of contract breaks the run (so a contract that silently matches nothing cannot pass);
* the alert core's import graph has no cycle, ``TYPE_CHECKING`` imports included;
* the wheel carries every ``.py`` file of the tree and the package data the services read at run time.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("floorwatch", "services", "shared")


def _exe(name: str) -> str:
    exe = shutil.which(name, path=str(Path(sys.executable).parent))
    assert exe, f"{name} is a dev dependency; reinstall with `make setup`"
    return exe


def _lint_imports(cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_exe("lint-imports"), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=180, env=env
    )


def _tree_modules() -> set[str]:
    """Every importable module: a ``.py`` file whose folders are all packages (Alembic's version
    scripts, ``0001_….py`` in a folder without ``__init__``, are loaded by path and are no module)."""
    found: set[str] = set()
    for pkg in PACKAGES:
        for path in (REPO / pkg).rglob("*.py"):
            rel = path.relative_to(REPO).with_suffix("")
            folders = (REPO.joinpath(*rel.parts[:i]) for i in range(1, len(rel.parts)))
            if not all((folder / "__init__.py").exists() for folder in folders):
                continue
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            found.add(".".join(parts))
    return found


def test_import_contracts_hold() -> None:
    result = _lint_imports(REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_import_linter_sees_every_module() -> None:
    """The graph import-linter checks is built by grimp from the same root packages: every file is in it."""
    import grimp

    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    missing = _tree_modules() - set(graph.modules)
    assert not missing, f"modules import-linter does not see: {sorted(missing)}"


# Each planted line breaks one kind of contract; the copy shadows the installed packages via PYTHONPATH.
PLANTS = {
    "forbidden (pure core)": ("services/alerts/core/engine/engine.py", "import time as _planted\n"),
    "independence (services)": ("services/ingest/core.py", "import services.api.hub as _planted\n"),
    "layers (shared below services)": ("shared/events.py", "import services.ingest.core as _planted\n"),
    "layers (alert core: floor state below the engine)": (
        "services/alerts/core/floor/state.py",
        "from ..engine.engine import Engine as _planted\n",
    ),
    "layers (alert core: TYPE_CHECKING imports count)": (
        "services/alerts/core/detectors/base.py",
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
        "    from ..alerting.records import AlertRecords as _planted\n",
    ),
    "layers (alert core: every module in a layer)": ("services/alerts/core/_planted.py", '"""stray"""\n'),
}


@pytest.mark.parametrize("kind", sorted(PLANTS))
def test_planted_violation_breaks_a_contract(kind: str, tmp_path: Path) -> None:
    rel, line = PLANTS[kind]
    for pkg in PACKAGES:
        shutil.copytree(REPO / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / rel
    assert target.exists() or target.name == "_planted.py", f"{rel} moved: update PLANTS"
    target.write_text((target.read_text() if target.exists() else "") + "\n" + line)
    env = {"PYTHONPATH": str(tmp_path), "PATH": str(Path(sys.executable).parent)}
    result = _lint_imports(tmp_path, env)
    assert result.returncode != 0, f"planted {line.strip()!r} in {rel} went unnoticed:\n{result.stdout}"
    assert "BROKEN" in result.stdout and "_planted" not in result.stderr


def test_wheel_contains_every_file(tmp_path: Path) -> None:
    """Build the wheel from a copy of the tracked files and compare it with the tree."""
    src = tmp_path / "src"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        if (REPO / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "-w", str(out), str(src)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = out.glob("floorwatch-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        name for name in tracked
        if name.split("/", 1)[0] in PACKAGES and (name.endswith(".py") or "/static/" in name
                                                   or name.endswith((".mako", "py.typed")))
    }
    assert expected, "no package files found: is this a git checkout?"
    missing = expected - names
    assert not missing, f"the wheel lacks {sorted(missing)}"


CORE = REPO / "services" / "alerts" / "core"


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` (its folder ``root``) it imports, from every import
    statement of its source: at the top, in functions and under ``if TYPE_CHECKING:`` alike (the
    AST walk sees them all; typing-only imports are imports of the design too)."""
    modules: dict[str, tuple[Path, bool]] = {}
    for path in root.rglob("*.py"):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        is_pkg = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    graph: dict[str, set[str]] = {}
    for name, (path, is_pkg) in modules.items():
        here = name.split(".") if is_pkg else name.split(".")[:-1]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
                for alias in node.names:  # `from pkg import mod` imports the module, else the package
                    sub = f"{base}.{alias.name}"
                    target = sub if sub in modules else base
                    if target in modules:
                        found.add(target)
        graph[name] = found - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None (depth-first search, iterative)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for start in sorted(graph):
        if start in state:
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_alert_core_has_no_import_cycle() -> None:
    graph = import_graph(CORE, "services.alerts.core")
    assert len(graph) == len(list(CORE.rglob("*.py")))
    assert sum(len(v) for v in graph.values()) > 150, "the graph lost its edges: is the walk broken?"
    assert "services.alerts.core.detectors.base" in graph["services.alerts.core.detectors.registry"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle in the alert core: " + " -> ".join(cycle or ())


def test_the_cycle_check_counts_type_checking_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    typing_only = "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from ..a import A\n"
    (pkg / "sub" / "b.py").write_text(typing_only)
    assert find_cycle(import_graph(pkg, "pkg")) == ["pkg.a", "pkg.sub.b", "pkg.a"]
    (pkg / "sub" / "b.py").write_text("B = 1\n")
    assert find_cycle(import_graph(pkg, "pkg")) is None
