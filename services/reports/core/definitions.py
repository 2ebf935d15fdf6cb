"""The metric definitions the reports use (stated, never implied).

Interim interface: the numbers work (issue 10) puts every definition, with vendor presets, in
``services/alerts/core/floor/definitions.py``; the reports read the few fields below and switch over
to that object once it is on main. Defaults equal the live floor's (``floor/kpis.py``):

* service level = answered within ``sl_threshold_s`` / (answered + abandoned - short abandons)
* short abandon = abandoned after waiting less than ``short_abandon_s``
* ASA = mean wait of answered calls; AHT = mean (talk + hold + wrap) of handled calls with times
* occupancy = (talking + hold + wrap seconds) / (those + available seconds); not-ready time is out
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

SlFormula = Literal["offered_less_short", "answered", "offered", "answered_abandoned"]

SL_FORMULAS: dict[str, str] = {
    "offered_less_short": "answered within threshold / (answered + abandoned - short abandons)",
    "answered": "answered within threshold / answered",
    "offered": "answered within threshold / offered",
    "answered_abandoned": "answered within threshold / (answered + abandoned)",
}


@dataclass(frozen=True, slots=True)
class ReportDefinitions:
    sl_threshold_s: float = 20.0
    short_abandon_s: float = 5.0
    sl_formula: SlFormula = "offered_less_short"

    def __post_init__(self) -> None:
        if self.sl_threshold_s < 0 or self.short_abandon_s < 0:
            raise ValueError("sl_threshold_s and short_abandon_s must be >= 0")
        if self.sl_formula not in SL_FORMULAS:
            raise ValueError(f"unknown sl_formula {self.sl_formula!r}; known: {sorted(SL_FORMULAS)}")

    def service_level(self, *, offered: float, answered: float, abandoned: float, short: float,
                      within: float) -> float | None:
        base = {
            "offered_less_short": answered + abandoned - short,
            "answered": answered,
            "offered": offered,
            "answered_abandoned": answered + abandoned,
        }[self.sl_formula]
        return within / base if base > 0 else None

    def describe(self) -> dict[str, Any]:
        out = asdict(self)
        out["service_level"] = SL_FORMULAS[self.sl_formula]
        out["short_abandon"] = f"abandoned after waiting less than {self.short_abandon_s:g} s"
        out["asa_s"] = "mean wait of answered calls"
        out["aht_s"] = "mean (talk + hold + wrap) of handled calls that have times"
        out["occupancy"] = "(talking + hold + wrap seconds) / (those + available seconds)"
        return out
