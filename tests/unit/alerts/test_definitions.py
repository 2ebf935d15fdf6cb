"""The definitions module: validation, presets, the service-level formulas and handle time."""

from __future__ import annotations

import pytest

from services.alerts.core.floor.definitions import (
    DEFAULT,
    PRESETS,
    Definitions,
    DefinitionsError,
    DefinitionSet,
    preset,
)


def test_defaults_are_stated() -> None:
    d = DEFAULT.as_dict()
    assert d == {
        "sl_threshold_s": 20.0,
        "sl_formula": "answered+abandoned-short",
        "short_abandon_s": 5.0,
        "abandoned": "all",
        "unqueued": "exclude",
        "aht_components": ["talk", "hold", "wrap"],
        "outbound_busy": True,
        "day_start_s": 0,
        "time_zone": None,
        "interval_s": 1800,
    }


# offered 100, answered 80 (60 within), abandoned 15 of which 5 short
@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("answered", 60 / 80),
        ("offered", 60 / 100),
        ("answered+abandoned", 60 / 95),
        ("answered+abandoned-short", 60 / 90),
    ],
)
def test_service_level_formulas(formula: str, expected: float) -> None:
    d = Definitions(sl_formula=formula)  # type: ignore[arg-type]
    assert d.service_level(60, 100, 80, 15, 5) == pytest.approx(expected)


def test_service_level_without_denominator_is_none() -> None:
    assert DEFAULT.service_level(0, 0, 0, 0, 0) is None


def test_presets() -> None:
    assert set(PRESETS) == {"floorwatch", "asterisk", "amazon-connect", "genesys"}
    ast = preset("asterisk")
    assert ast.sl_formula == "answered" and ast.short_abandon_s == 0 and ast.abandoned == "all"
    assert ast.handle_s(100, 20, 30) == 100
    assert preset("amazon-connect").sl_formula == "offered"
    assert preset("genesys").sl_formula == "answered+abandoned"
    assert preset("genesys").counts_as_abandon("timeout") is False
    assert preset("genesys").counts_as_abandon("caller") is True
    assert preset("asterisk").counts_as_abandon("empty") is True
    with pytest.raises(DefinitionsError, match="preset: one of floorwatch"):
        preset("avaya")


def test_thresholds_are_inclusive_and_exclusive_as_documented() -> None:
    assert DEFAULT.within(20.0) and not DEFAULT.within(20.5)
    assert DEFAULT.is_short(4.9) and not DEFAULT.is_short(5.0) and not DEFAULT.is_short(None)
    assert not Definitions(short_abandon_s=0).is_short(0.0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sl_threshold_s": -1}, "sl_threshold_s"),
        ({"sl_formula": "handled"}, "sl_formula: one of"),
        ({"abandoned": "some"}, "abandoned: one of"),
        ({"unqueued": "maybe"}, "unqueued: one of"),
        ({"aht_components": ()}, "aht_components"),
        ({"aht_components": ("talk", "talk")}, "twice"),
        ({"aht_components": ("talk", "ring")}, "aht_components: one of"),
        ({"day_start_s": 86400}, "day_start_s"),
        ({"interval_s": 7 * 60}, "interval_s"),
        ({"interval_s": 90}, "interval_s"),
        ({"short_abandon_s": float("nan")}, "short_abandon_s"),
    ],
)
def test_refused_with_the_field_named(changes: dict[str, object], message: str) -> None:
    with pytest.raises(DefinitionsError, match=message):
        DEFAULT.replace(**changes)


def test_definition_set_overrides() -> None:
    site = DEFAULT.replace(sl_threshold_s=30.0)
    queue = site.replace(sl_formula="offered")
    ds = DefinitionSet(sites={"paris": site}, queues={"paris": {"sales": queue}})
    assert ds.for_queue("paris", "sales") is queue
    assert ds.for_queue("paris", "billing") is site
    assert ds.for_queue("paris", None) is site
    assert ds.for_site("lyon") is DEFAULT
    assert not ds.uniform and DefinitionSet().uniform


def test_with_zone_replaces_every_value() -> None:
    ds = DefinitionSet(sites={"a": DEFAULT}, queues={"a": {"q": DEFAULT}}).with_zone("Asia/Shanghai")
    assert {d.time_zone for d in (ds.default, ds.for_site("a"), ds.for_queue("a", "q"))} == {"Asia/Shanghai"}
