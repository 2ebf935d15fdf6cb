"""How long reading a rules file takes, against parsing the same YAML alone.

Rules files are read at start and on every edit (the alerts service reloads a changed file), so
this is not hot-path work; the figure to watch is the cost per rule and what it adds to PyYAML's
own parse. Three files: the built-in rules (``floorwatch rules defaults``, 14 rules), the same
repeated to 500 rules under distinct names, and a 500-rule file with one error per rule (the
refusal path reports every error). Baseline in the same process: ``yaml.compose`` of the same
text (the node tree the reader starts from; ``yaml.safe_load`` is also shown).

Run: ``python -m benchmarks.rules_load [--repeat 5]``. Prints median CPU milliseconds per file
and the ratio to the baseline. Also: the import of the reader (its pydantic models are built
once, at import), measured in a fresh interpreter.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import yaml

from services.alerts.core.rules.defaults import default_rules
from services.alerts.core.rules.reader import RulesError, load_rules
from services.alerts.core.rules.reader.specs import rules_data


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append((time.process_time() - t0) * 1000)
    return statistics.median(times)


def _files() -> dict[str, str]:
    rules = rules_data(default_rules().rules)["rules"]
    many = [{**r, "name": f"{r['name']}-{i}"} for i in range(36) for r in rules][:500]
    broken = [{**r, "name": f"{r['name']}-{i}", "severity": "fatal"} for i in range(36) for r in rules][:500]
    dump = lambda d: yaml.safe_dump(d, sort_keys=False, allow_unicode=True)  # noqa: E731
    return {"defaults (14 rules)": dump({"rules": rules}), "500 rules": dump({"rules": many}),
            "500 rules, 500 errors": dump({"rules": broken})}  # fmt: skip


def _load(text: str) -> None:
    with contextlib.suppress(RulesError):
        load_rules(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"{'file':<24}{'load_rules ms':>15}{'yaml.compose ms':>17}{'ratio':>8}{'safe_load ms':>14}")
    for name, text in _files().items():
        base = _median_ms(lambda t=text: yaml.compose(t, Loader=yaml.SafeLoader), args.repeat)
        plain = _median_ms(lambda t=text: yaml.safe_load(t), args.repeat)
        ours = _median_ms(lambda t=text: _load(t), args.repeat)
        print(f"{name:<24}{ours:>15.1f}{base:>17.1f}{ours / base:>8.2f}{plain:>14.1f}")
    code = "import time; t = time.process_time(); import services.alerts.core.rules.reader; "
    code += "print(time.process_time() - t)"
    runs = [
        float(subprocess.check_output([sys.executable, "-c", code], text=True)) for _ in range(args.repeat)
    ]
    cpu_ms = statistics.median(runs) * 1000
    print(f"import of the reader (fresh interpreter, the core included): {cpu_ms:.0f} ms CPU")


if __name__ == "__main__":
    main()
