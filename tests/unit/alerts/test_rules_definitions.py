"""The rules file's `definitions:` section, and the engine counting by the rule set's definitions."""

from __future__ import annotations

import pytest

from services.alerts.core import Engine, RulesError, load_rules
from services.alerts.core.floor.definitions import PRESETS

from .feed import Feed

GOOD = """
rules:
  - {name: backlog, metric: calls_waiting, op: ">", value: 0}
definitions:
  preset: asterisk
  sl_threshold_s: 30
  sites:
    bj-01:
      preset: genesys
      time_zone: Asia/Shanghai
      day_start_s: 6h
      interval_s: 15m
      queues:
        vip: {sl_threshold_s: 10, aht_components: [talk, wrap]}
"""

BAD = """
rules:
  - {name: backlog, metric: calls_waiting, op: ">", value: 0}
definitions:
  sl_formula: handled
  interval_s: 7m
  sites:
    bj-01:
      time_zone: Mars/Olympus
      queues:
        vip: {aht_components: [talk, talk]}
    sh-02: {preset: avaya}
"""


def test_levels_start_from_their_preset_or_the_level_above() -> None:
    defs = load_rules(GOOD).definitions
    assert defs is not None
    assert defs.default == PRESETS["asterisk"].replace(sl_threshold_s=30.0)
    site = defs.for_site("bj-01")
    assert site == PRESETS["genesys"].replace(time_zone="Asia/Shanghai", day_start_s=6 * 3600, interval_s=900)
    assert defs.for_queue("bj-01", "vip") == site.replace(
        sl_threshold_s=10.0, aht_components=("talk", "wrap")
    )
    assert defs.for_queue("bj-01", "sales") == site
    assert defs.for_site("elsewhere") == defs.default


def test_every_bad_value_is_refused_at_its_line() -> None:
    with pytest.raises(RulesError) as err:
        load_rules(BAD, name="bad.yaml")
    got = err.value.errors
    assert [line for line, _ in got] == [5, 6, 9, 11, 12]
    assert got[0][1].startswith("sl_formula: one of answered, offered")
    assert "interval_s: whole minutes that divide a day" in got[1][1]
    assert "unknown time zone 'Mars/Olympus'" in got[2][1]
    assert "names a component twice" in got[3][1]
    assert "preset" in got[4][1] and "avaya" in got[4][1]


def test_no_section_means_the_defaults() -> None:
    assert load_rules("rules: []").definitions is None
    assert Engine(load_rules("rules: []")).floor.config.defs.default == PRESETS["floorwatch"]


def test_the_engine_counts_by_the_rule_sets_definitions_and_follows_a_reload() -> None:
    feed = Feed()
    # one call answered after 30 s and one abandoned after 40 s: within 20 s? no
    events = [
        feed("queued", 0, call="c1", queue="sales"),
        feed("answered", 10, call="c1", queue="sales", agent="a1"),
        feed("queued", 20, call="c2", queue="sales"),
        feed("abandoned", 60, call="c2", queue="sales"),
    ]
    asterisk = load_rules("rules: []\ndefinitions: {preset: asterisk}")
    eng = Engine(asterisk)
    for ev in events:
        eng.on_event(ev)
    (sales,) = eng.floor_snapshot("bj-01")["queues"]
    assert sales["service_level"] == 1.0  # Asterisk: within / answered = 1 / 1
    assert sales["day"]["service_level"] == 1.0
    restored = Engine.restore(eng.snapshot(), asterisk)
    assert restored.floor.config.defs.default == PRESETS["asterisk"]
    eng.replace_rules(load_rules("rules: []\ndefinitions: {preset: amazon-connect}"))
    (sales,) = eng.floor_snapshot("bj-01")["queues"]
    assert sales["service_level"] == 0.5  # Connect: within / offered = 1 / 2


LANGUAGES = """
rules:
  - {name: backlog, metric: calls_waiting, op: ">", value: 0}
definitions:
  sites:
    bj-01: {time_zone: Asia/Shanghai, language: zh}
    lon-01: {language: en}
"""


def test_a_site_declares_its_readers_language_beside_its_time_zone() -> None:
    defs = load_rules(LANGUAGES).definitions
    assert defs is not None
    assert dict(defs.languages) == {"bj-01": "zh", "lon-01": "en"}
    assert [defs.language_of(s) for s in ("bj-01", "lon-01", "sh-02", None)] == ["zh", "en", None, None]
    # a language is no counting choice: a site that names only its language counts as the file does
    assert "lon-01" not in defs.sites and defs.for_site("bj-01").time_zone == "Asia/Shanghai"
    assert load_rules(LANGUAGES.replace(", language: zh}", "}")).definitions.sites == defs.sites  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("where", "text", "message"),
    [
        ("site", "    bj-01: {language: fr}\n", "language: one of zh, en; got 'fr'"),
        ("queue", "    bj-01:\n      queues:\n        vip: {language: zh}\n",
         "unknown key 'language' in a queue's definitions"),
        ("file", "  language: zh\n", "unknown key 'language' in definitions"),
    ],
)
def test_a_language_is_a_site_s_and_one_floorwatch_speaks(where: str, text: str, message: str) -> None:
    head = "rules: []\ndefinitions:\n" + ("  sites:\n" if where != "file" else "")
    with pytest.raises(RulesError) as err:
        load_rules(head + text)
    assert [(line, m) for line, m in err.value.errors if message in m] != [], err.value.errors
