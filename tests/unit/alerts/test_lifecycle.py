"""The per-scope alert state machine and rule conditions (hysteresis, guards, sample)."""

from __future__ import annotations

import pytest

from services.alerts.core.detectors.threshold import Guard, ThresholdRule
from services.alerts.core.floor.metrics import Reading
from services.alerts.core.lifecycle import AlertState, ThresholdAlert, fingerprint

WAITING = ThresholdRule(name="w", metric="calls_waiting", op=">", value=10, clear=5, for_s=30)


def machine(rule: ThresholdRule) -> ThresholdAlert:
    return rule.build(AlertState(fingerprint="f", rule=rule.name, site="s", kind="queue", name="q"))


def drive(rule: ThresholdRule, series: list[tuple[float, float]]) -> list[tuple[float, str, str]]:
    """Feed (time, value) readings; return (time, previous, state) of each decision."""
    m, out = machine(rule), []
    for t, v in series:

        def reading(_metric: str, v: float = v) -> Reading:
            return (v, 1.0)

        cond, value = rule.condition(reading, firing=m.firing)
        d = m.observe(cond, value, t)
        if d is not None:
            out.append((t, d.previous, d.state))
    return out


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        # for = 30 s: pending at 0, firing once 30 s have passed with the breach unbroken
        ([(0, 11), (10, 12), (30, 12)], [(0, "inactive", "pending"), (30, "pending", "firing")]),
        # breach broken at 20: pending resolves without firing; a new episode starts at 25
        (
            [(0, 11), (20, 9), (25, 11), (50, 11), (55, 11)],
            [
                (0, "inactive", "pending"),
                (20, "pending", "resolved"),
                (25, "inactive", "pending"),
                (55, "pending", "firing"),
            ],
        ),
        # pending uses the entry threshold: 8 is below 10, so pending drops even though 8 > clear
        ([(0, 11), (10, 8)], [(0, "inactive", "pending"), (10, "pending", "resolved")]),
        # firing uses the clear threshold: 6..9 keep it firing (no flapping), 5 resolves
        (
            [(0, 11), (30, 11), (40, 9), (50, 6), (60, 11), (70, 5)],
            [(0, "inactive", "pending"), (30, "pending", "firing"), (70, "firing", "resolved")],
        ),
    ],
)
def test_lifecycle(series: list[tuple[float, float]], expected: list[tuple[float, str, str]]) -> None:
    assert drive(WAITING, series) == expected


def test_for_zero_fires_at_once_and_resolves() -> None:
    rule = ThresholdRule(name="sl", metric="service_level", op="<", value=0.8, clear=0.85)
    assert drive(rule, [(0, 0.9), (1, 0.7), (2, 0.82), (3, 0.85)]) == [
        (1, "inactive", "firing"),
        (3, "firing", "resolved"),
    ]


def test_tick_and_deadline_promote_pending_without_a_reading() -> None:
    m = machine(WAITING)
    assert m.next_deadline() is None
    m.observe(True, 11.0, 100.0)
    assert m.next_deadline() == 130.0
    assert m.tick(129.0) is None
    d = m.tick(130.0)
    assert d is not None and (d.previous, d.state, d.value) == ("pending", "firing", 11.0)
    assert m.next_deadline() is None and m.tick(500.0) is None


def test_time_never_runs_backwards() -> None:
    m = machine(WAITING)
    m.observe(True, 11.0, 100.0)
    d = m.observe(True, 11.0, 50.0)  # stale reading: treated as at 100, for not elapsed
    assert d is None and m.st.state == "pending"


def test_min_sample_and_guards() -> None:
    rule = ThresholdRule(
        name="x",
        metric="agents_available",
        op="<=",
        value=0,
        min_sample=1,
        when=(Guard("calls_waiting", ">", 0),),
    )
    readings: dict[str, Reading] = {"agents_available": (0.0, 1.0), "calls_waiting": (0.0, 1.0)}
    assert rule.condition(readings.__getitem__, firing=False) == (False, 0.0)
    readings["calls_waiting"] = (3.0, 1.0)
    assert rule.condition(readings.__getitem__, firing=False) == (True, 0.0)
    readings["agents_available"] = (0.0, 0.0)  # too little evidence
    assert rule.condition(readings.__getitem__, firing=False) == (False, 0.0)
    readings["agents_available"] = (None, 0.0)  # no data: never a breach
    assert rule.condition(readings.__getitem__, firing=True) == (False, None)


def test_fingerprint_is_stable_and_order_free() -> None:
    a = fingerprint("r", {"site": "s", "queue": "q"})
    assert a == fingerprint("r", {"queue": "q", "site": "s"})
    assert len(a) == 16 and int(a, 16) >= 0
    assert (
        a != fingerprint("r", {"site": "s", "queue": "q2"}) != fingerprint("r2", {"site": "s", "queue": "q"})
    )


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"metric": "nope"}, "metric"),
        ({"op": "=="}, "op"),
        ({"clear": 12.0}, "clear"),
        ({"for_s": -1.0}, "for"),
        ({"severity": "fatal"}, "severity"),
        ({"scope": "team"}, "metric"),  # calls_waiting is not a team metric
        ({"matchers": (("team", "t1"),)}, "match"),
        ({"summary": "{nope}"}, "summary"),
        ({"name": "has space"}, "name"),
        ({"keep_firing_for": -1.0}, "keep_firing_for"),
        ({"keep_firing_for": float("inf")}, "keep_firing_for"),
        ({"resolved_summary": "{value:.0f} {nope}"}, "resolved_summary"),
    ],
)
def test_rule_validation(fields: dict[str, object], problem: str) -> None:
    base: dict[str, object] = {"name": "w", "metric": "calls_waiting", "op": ">", "value": 10.0}
    with pytest.raises(ValueError, match="rule"):
        ThresholdRule(**{**base, **fields})  # type: ignore[arg-type]
    bad = object.__new__(ThresholdRule)
    for key, val in {**base, **fields}.items():
        object.__setattr__(bad, key, val)
    for key, val in {
        "scope": "queue",
        "clear": None,
        "for_s": 0.0,
        "severity": "warning",
        "matchers": (),
        "when": (),
        "min_sample": 0.0,
        "summary": "",
        "keep_firing_for": 0.0,
        "resolved_summary": "",
        "message": "",
    }.items():
        if key not in fields:
            object.__setattr__(bad, key, val)
    assert [key for key, _ in bad.problems()] == [problem]


def test_summary_rendering() -> None:
    rule = ThresholdRule(
        name="w", metric="calls_waiting", op=">", value=10, summary="{queue}: {value:.0f} > {threshold:g}"
    )
    assert rule.render(12.0, {"site": "s", "queue": "sales"}) == "sales: 12 > 10"
    assert rule.render(None, {"site": "s"}) == "w: no data"
    assert WAITING.render(12.0, {"site": "s"}) == "calls_waiting 12 > 10"
