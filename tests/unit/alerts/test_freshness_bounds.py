"""``freshness`` bounds: a source silent past the retention is forgotten (its alert resolves), and
at most ``MAX_SOURCES`` sources are watched per site and rule (further new ones are counted only)."""

from __future__ import annotations

import msgspec

from services.alerts.core import Engine, RuleSet
from services.alerts.core.detectors.freshness import FORGET_AFTER_S, MAX_SOURCES, FreshnessRule, SourceTrack

from .feed import Feed, at

RULES = RuleSet((FreshnessRule(name="silent", silent=60.0, severity="critical"),))


def _track(eng: Engine) -> SourceTrack:
    track = eng._tracks["bj-01"].tracks["silent"]
    assert isinstance(track, SourceTrack)
    return track


def test_a_flood_of_new_sources_is_capped_and_counted() -> None:
    eng, acd = Engine(RULES), Feed(source="acd")
    eng.on_event(acd("login", 0, agent="a1"))  # the site is open
    extra = 50
    for i in range(MAX_SOURCES - 1 + extra):  # acd plus these: MAX_SOURCES + extra sources
        eng.on_event(Feed(source=f"s{i}")("state", 1 + i * 0.01, agent="a1", state="available"))
    track = _track(eng)
    assert len(track.last) == len(track.lag) == MAX_SOURCES
    assert track.untracked == extra
    assert f"s{MAX_SOURCES - 2}" in track.last and f"s{MAX_SOURCES - 1}" not in track.last
    # acd keeps talking for an hour: every other source is silent, at most the cap fire
    for k in range(60):
        eng.on_event(acd("state", 60 + k * 60, agent="a1", state="available"))
    firing = [a for a in eng.active_alerts() if a["rule"] == "silent"]
    assert len(firing) == MAX_SOURCES - 1  # all but acd; none of the refused ones


def test_a_source_silent_past_the_retention_is_forgotten_and_its_alert_resolves() -> None:
    eng, acd, pbx = Engine(RULES), Feed(source="acd"), Feed(source="pbx")
    eng.on_event(acd("login", 0, agent="a1"))
    eng.on_event(pbx("state", 10, agent="a1", state="available"))
    out = eng.advance(at(200 + eng.lateness))
    assert [(t.scope["source"], t.state) for t in out] == [("acd", "firing"), ("pbx", "firing")]
    eng.on_event(acd("state", 300, agent="a1", state="available"))  # acd resolves; pbx stays silent
    out = eng.advance(at(10 + FORGET_AFTER_S - 1 + eng.lateness))
    assert [(t.scope["source"], t.state) for t in out] == [("acd", "firing")]
    assert set(_track(eng).last) == {"acd", "pbx"}
    out = eng.advance(at(10 + FORGET_AFTER_S + 1 + eng.lateness))
    assert [(t.scope["source"], t.previous, t.state) for t in out] == [("pbx", "firing", "resolved")]
    assert out[0].event_time == at(10 + FORGET_AFTER_S).timestamp()
    assert out[0].details["forgotten"] is True and "no longer watched" in out[0].summary
    assert set(_track(eng).last) == {"acd"} and set(_track(eng).lag) == {"acd"}
    # heard from again: a new source, watched as before
    t = 10 + FORGET_AFTER_S + 100
    assert eng.on_event(pbx("state", t, agent="a1", state="available")) == []
    assert _track(eng).last["pbx"] == at(t).timestamp()


def test_a_closed_site_forgets_too() -> None:
    eng, acd = Engine(RULES), Feed(source="acd")
    eng.on_event(acd("login", 0, agent="a1"))
    eng.on_event(acd("logout", 10, agent="a1"))  # closed: no alert, rechecked every minute
    assert eng.advance(at(FORGET_AFTER_S + 120 + eng.lateness)) == []
    assert _track(eng).last == {}


def test_the_count_survives_a_snapshot_and_older_snapshots_restore() -> None:
    eng, acd = Engine(RULES), Feed(source="acd")
    eng.on_event(acd("login", 0, agent="a1"))
    for i in range(MAX_SOURCES + 3):
        eng.on_event(Feed(source=f"s{i}")("state", 1, agent="a1", state="available"))
    assert _track(eng).untracked == 4
    snap = eng.snapshot()
    again = Engine.restore(snap, RULES)
    assert _track(again).untracked == 4 and _track(again).last == _track(eng).last
    assert again.snapshot() == snap
    # a snapshot from before the count: no "untracked" key -> 0, the rest as it was
    raw = msgspec.json.decode(snap)
    stored = raw["stats"]["bj-01"]["tracks"]["silent"]
    assert stored.pop("untracked") == 4
    old = Engine.restore(msgspec.json.encode(raw), RULES)
    assert _track(old).untracked == 0 and _track(old).last == _track(eng).last
