"""The metric definitions the reports use: the floor's own (``floor/definitions.py``), so the
live floor, ``floorwatch stats`` and every report count the same way. Re-exported here with the
plain-language description every report answer carries (``definitions``). The floor's event
order (``floor/order.py``) too: the figures are defined in it, so the reports fold in it."""

from __future__ import annotations

from typing import Any

from services.alerts.core.floor.definitions import DEFAULT, PRESETS, Definitions, DefinitionSet, preset
from services.alerts.core.floor.order import order_key

__all__ = ["DEFAULT", "PRESETS", "DefinitionSet", "Definitions", "describe", "order_key", "preset"]

_SL = {
    "answered": "answered within threshold / answered",
    "offered": "answered within threshold / offered",
    "answered+abandoned": "answered within threshold / (answered + abandoned)",
    "answered+abandoned-short": "answered within threshold / (answered + abandoned - short abandons)",
}


def describe(defs: DefinitionSet) -> dict[str, Any]:
    """The definitions in force, as values and in words (the default; per-site overrides listed)."""
    d = defs.default
    out: dict[str, Any] = d.as_dict()
    out["formulas"] = {
        "service_level": _SL[d.sl_formula],
        "short_abandon": f"abandoned after waiting less than {d.short_abandon_s:g} s",
        "abandon_rate": "(abandoned - short abandons) / (answered + abandoned - short abandons)",
        "asa_s": "mean wait of answered calls",
        "aht_s": "mean (" + " + ".join(d.aht_components) + ") of handled calls that have times",
        "occupancy": "(talking + hold + wrap seconds) / (those + available seconds)",
        "success_rate": "successes / wrapped calls with an outcome",
    }
    if defs.sites:
        out["sites"] = {s: v.as_dict() for s, v in sorted(defs.sites.items())}
    if defs.queues:
        out["queues"] = {
            f"{s}/{q}": v.as_dict() for s, qs in sorted(defs.queues.items()) for q, v in sorted(qs.items())
        }
    return out
