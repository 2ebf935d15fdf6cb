"""The alert core compiled with Cython, as it is written: is it the same engine, and how much faster?

Issue 14 lists a compiled core as a direction, accepted only with the golden check passing byte
for byte (mypyc was tried first and changed results: docs/benchmarks.md). This benchmark measures
the other compiler without changing the project:

1. copies the tracked files of this checkout (its working tree, uncommitted edits included) to
   ``--work``/tree;
2. compiles every module of ``services/alerts/core`` there with Cython, except the packages'
   ``__init__`` files and ``rules/reader`` (pydantic models: a compiled method in a model's class
   body reads to pydantic as a field without an annotation, and the import fails). The directive
   ``annotation_typing=False`` keeps annotations as hints: by default Cython turns a parameter
   annotated ``float`` into a C double, which would turn an ``int`` threshold into ``0.0`` on the
   wire, the fault that sank mypyc;
3. records the golden streams with the pure core (this checkout) and checks them with the compiled
   one (``benchmarks.engine_golden``): transitions and floor snapshots must be identical;
4. runs ``benchmarks.engine_throughput`` in the pure and the compiled tree, alternately, ``--pairs``
   times, and prints each path's range and the compiled / pure ratio of each pair's best rounds.

Needs Cython in the venv (``.venv/bin/pip install cython``; not a dependency of the project) and
gcc with the Python headers. Run: ``python -m benchmarks.cython_core [--pairs 3] [--events 100000]``.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORE = "services/alerts/core"
LEFT_OUT = ("/__init__.py", "/rules/reader/")
LINE = re.compile(r"^\s+(?P<path>\S.*?)\s{2,}[\d,]+ \.\.\s+(?P<best>[\d,]+) events/s")

BUILD = """\
import sys
from setuptools import setup
from Cython.Build import cythonize
modules = sys.argv[1:]
del sys.argv[1:]
setup(
    name="floorwatch-core-compiled",
    ext_modules=cythonize(
        modules,
        compiler_directives={"annotation_typing": False, "language_level": 3, "binding": %(binding)s},
        nthreads=%(jobs)d,
        quiet=True,
    ),
    script_args=["build_ext", "--inplace", "-j", "%(jobs)d"],
)
"""


def copy_tree(dest: pathlib.Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def compile_core(tree: pathlib.Path, binding: bool, jobs: int) -> tuple[int, float]:
    modules = sorted(
        str(p.relative_to(tree))
        for p in (tree / CORE).rglob("*.py")
        if not any(part in "/" + str(p.relative_to(tree)) for part in LEFT_OUT)
    )
    (tree / "cython_build.py").write_text(BUILD % {"binding": binding, "jobs": jobs})
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "cython_build.py", *modules], cwd=tree, capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(f"the Cython build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return len(modules), time.perf_counter() - t0


def python_in(tree: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}  # ahead of the venv's editable install
    return subprocess.run([sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True)


def check_compiled(tree: pathlib.Path) -> None:
    where = python_in(tree, "-c", "import services.alerts.core.engine.engine as m; print(m.__file__)")
    if not where.stdout.strip().endswith(".so"):
        sys.exit(f"the compiled tree imports the pure engine: {where.stdout}{where.stderr}")


def throughput(tree: pathlib.Path, events: int, repeat: int) -> dict[str, float]:
    args = ("--events", str(events), "--repeat", str(repeat))
    run = python_in(tree, "-m", "benchmarks.engine_throughput", *args)
    if run.returncode:
        sys.exit(f"engine_throughput failed in {tree}:\n{run.stderr[-3000:]}")
    best: dict[str, float] = {}
    for line in run.stdout.splitlines():
        if m := LINE.match(line):
            best[m["path"]] = float(m["best"].replace(",", ""))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=pathlib.Path, help="for the tree and golden files (default: a temp dir)")
    ap.add_argument("--pairs", type=int, default=3, help="pure/compiled runs, alternated")
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=2, help="engine_throughput's rounds per run (best is kept)")
    ap.add_argument("--binding", action="store_true", help="Cython's binding=True (introspectable functions)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--no-golden", action="store_true")
    args = ap.parse_args()
    try:
        import Cython  # noqa: F401  (only to say what is missing before copying anything)
    except ImportError:
        sys.exit("Cython is not installed: .venv/bin/pip install cython")
    work = args.work or pathlib.Path(tempfile.mkdtemp(prefix="floorwatch-cython-"))
    tree = work / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    copy_tree(tree)
    count, took = compile_core(tree, args.binding, args.jobs)
    check_compiled(tree)
    print(f"compiled {count} modules of {CORE} in {took:.0f} s (binding={args.binding}); tree {tree}")
    if not args.no_golden:
        golden = work / "golden"
        rec = python_in(ROOT, "-m", "benchmarks.engine_golden", "record", "--dir", str(golden))
        chk = python_in(tree, "-m", "benchmarks.engine_golden", "check", "--dir", str(golden))
        print("golden, recorded with the pure core, checked with the compiled one:")
        print("  " + "\n  ".join((chk.stdout + chk.stderr).strip().splitlines()[-4:]))
        if rec.returncode or chk.returncode:
            sys.exit(f"golden check failed (record rc={rec.returncode}, check rc={chk.returncode})")
    pure: list[dict[str, float]] = []
    compiled: list[dict[str, float]] = []
    print(f"load average {os.getloadavg()[0]:.2f} at the start ({os.cpu_count()} cores)")
    for _ in range(args.pairs):
        pure.append(throughput(ROOT, args.events, args.repeat))
        compiled.append(throughput(tree, args.events, args.repeat))
    print(f"load average {os.getloadavg()[0]:.2f} at the end; best events/s of each run, {args.pairs} pairs:")
    for path in pure[0]:
        p = [r[path] for r in pure]
        c = [r[path] for r in compiled]
        ratio = sorted(b / a for a, b in zip(p, c, strict=True))
        print(
            f"  {path:<36} pure {min(p):>9,.0f} .. {max(p):>9,.0f}"
            f"   compiled {min(c):>9,.0f} .. {max(c):>9,.0f}"
            f"   x{ratio[0]:.2f} .. {ratio[-1]:.2f} (median x{ratio[len(ratio) // 2]:.2f})"
        )


if __name__ == "__main__":
    main()
