"""The PromQL of the provisioned dashboards, as the tests send it to Prometheus."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO

DASHBOARDS = REPO / "deploy" / "grafana" / "dashboards"

# Grafana's variables as a query for one site would expand them (a regex match for the site,
# every queue / team / project), and its interval macros at the test's scale.
MACROS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "2m"}


@dataclass(frozen=True)
class Query:
    dashboard: str  # uid
    panel: str  # panel title, or "variable <name>" / "annotation <name>"
    expr: str

    def expand(self, site: str) -> str:
        expr = self.expr.replace("$site", site)  # a plain name: no regex metacharacters
        for name in ("$queue", "$team", "$project"):
            expr = expr.replace(name, ".*")
        for macro, value in MACROS.items():
            expr = expr.replace(macro, value)
        return expr


def dashboards() -> dict[Path, dict]:  # type: ignore[type-arg]
    return {path: json.loads(path.read_text(encoding="utf-8")) for path in sorted(DASHBOARDS.glob("*.json"))}


def queries() -> Iterator[Query]:
    """Every expression of every dashboard: panel targets, variable queries, annotations."""
    for board in dashboards().values():
        uid = board["uid"]
        for panel in board["panels"]:
            for t in panel.get("targets", []):
                yield Query(uid, panel["title"], t["expr"])
        for var in board["templating"]["list"]:
            if var.get("type") == "query":
                yield Query(uid, f"variable {var['name']}", _label_values(var["definition"]))
        for ann in board["annotations"]["list"]:
            if "expr" in ann:
                yield Query(uid, f"annotation {ann['name']}", ann["expr"])


def _label_values(definition: str) -> str:
    """``label_values(selector, label)`` -> the selector, which Prometheus can evaluate."""
    m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", definition.strip())
    assert m, f"unexpected variable query {definition!r}"
    return m.group(1)
