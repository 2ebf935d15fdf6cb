"""EXPERIMENT (not adopted; see docs/benchmarks.md, "Compiling the core with mypyc"): compile
the alerts engine core with mypyc, extensions in place next to the ``.py`` files.

One shared library, ``core/_compiled__mypyc*.so``, holds the code; each compiled module gets a small
``<module>*.so`` that loads it, which Python prefers to the ``.py``. ``clean`` deletes them all.

    python scripts/compile_core.py build    # compile in place (needs gcc and the Python headers)
    python scripts/compile_core.py status   # which build the imports load
    python scripts/compile_core.py check    # exit 1 if an extension is older than its .py
    python scripts/compile_core.py clean    # delete the extensions

The build is NOT correct: Structs defined in compiled modules lose their field types (snapshots
restore as plain dicts), float-typed parameters turn ints into floats (``0`` -> ``0.0`` on the
wire), compiled dataclasses refuse ``object.__new__``; and it is only ~1.1x faster.
"""

from __future__ import annotations

import pathlib
import sys
import sysconfig

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORE = ROOT / "floorwatch" / "services" / "alerts" / "core"
GROUP = "floorwatch.services.alerts.core._compiled"  # the shared library: core/_compiled__mypyc*.so
# Left interpreted: the package __init__ (only re-exports), and the dataclasses with ClassVar
# members — the rules and the detector kinds. mypyc hands a compiled dataclass's ClassVars to
# ``dataclasses`` as plain annotations, so they become fields (``kind``, ``family``, ...) and the
# class fails to build; a compiled subclass of an interpreted KindRule is not possible either.
EXCLUDE = frozenset(
    {
        "__init__.py",
        "rules.py",
        "kinds.py",
        "agentstate.py",
        "aht.py",
        "efficiency.py",
        "freshness.py",
        "occupancy.py",
        "progress.py",
    }
)
SUFFIX = sysconfig.get_config_var("EXT_SUFFIX") or ".so"


def sources() -> list[pathlib.Path]:
    return sorted(p for p in CORE.glob("*.py") if p.name not in EXCLUDE)


def extensions() -> list[pathlib.Path]:
    """Every extension file in the core folder, whatever the Python version built it."""
    return sorted(CORE.glob("*.so"))


def stale() -> list[str]:
    """Modules whose .py is newer than its extension, or that have no extension in a compiled core."""
    exts = {p.name.split(".", 1)[0]: p for p in extensions()}
    if not exts:
        return []
    out = []
    for src in sources():
        ext = exts.get(src.stem)
        if ext is None or ext.stat().st_mtime < src.stat().st_mtime:
            out.append(src.name)
    shared = CORE / f"_compiled__mypyc{SUFFIX}"
    if not shared.exists():
        out.append(shared.name + " (missing)")
    return out


def build() -> None:
    from mypyc.build import mypycify
    from setuptools import setup

    paths = [str(p.relative_to(ROOT)) for p in sources()]
    setup(
        name="floorwatch-core-compiled",
        ext_modules=mypycify(paths, opt_level="3", group_name=GROUP, target_dir="build/mypyc"),
        script_args=["build_ext", "--inplace", "--build-temp", "build/mypyc/temp"],
    )


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "status"
    if cmd == "build":
        build()
    elif cmd == "clean":
        for p in extensions():
            p.unlink()
    elif cmd == "check":
        bad = stale()
        if bad:
            print(
                "the compiled engine core is stale (source newer than extension): "
                + ", ".join(bad)
                + "\n  run `make compiled` to rebuild it or `make clean-compiled` for the pure core",
                file=sys.stderr,
            )
            return 1
    elif cmd == "status":
        exts = extensions()
        state = f"compiled ({len(exts)} extensions)" if exts else "pure Python"
        print(f"engine core: {state}" + (", STALE" if stale() else ""))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
