"""The pacing shell, on a fake clock: no real sleeping."""

from __future__ import annotations

import datetime as dt
import math
import threading

import pytest

from floorwatch.sim.config import default_config
from floorwatch.sim.runner import run_simulation
from shared.events import AgentLogin, decode_event

from .simhelp import START, run


class FakeClock:
    """A monotonic clock that only moves when someone sleeps (or a slow sink spends time)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


class Recorder:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, bytes, bytes]] = []

    def __call__(self, key: bytes, value: bytes) -> None:
        self.sent.append((self.clock.now, key, value))


def test_events_are_sent_on_the_scaled_schedule() -> None:
    # event time: 0 ............ 3600 s (one simulated hour)
    # wall time:  1000 ......... 1060 s at time_scale 60: event at offset t is sent at 1000 + t/60
    clock = FakeClock()
    sink = Recorder(clock)
    stats = run_simulation(
        sink, config=default_config(), seed=1, time_scale=60, start=START, duration_s=3600,
        clock=clock, sleep=clock.sleep,
    )  # fmt: skip
    expected = run(default_config(), seed=1, hours=1)
    assert [decode_event(v) for _, _, v in sink.sent] == expected
    assert {k for _, k, _ in sink.sent} == {b"bj-01"}
    for (sent_at, _, _), ev in zip(sink.sent, expected, strict=True):
        due = 1000 + (ev.ts - START).total_seconds() / 60
        assert sent_at == pytest.approx(due, abs=1e-6)
    assert stats.events == len(expected) and not stats.stopped
    assert stats.max_late_s == pytest.approx(0, abs=1e-6)
    assert 1059 < clock.now <= 1060
    assert max(clock.sleeps) <= 0.2  # sliced, so a stop is noticed within 0.2 s


def test_a_slow_sink_makes_the_run_late_but_loses_nothing() -> None:
    clock = FakeClock()
    sent: list[bytes] = []

    def slow(key: bytes, value: bytes) -> None:
        sent.append(value)
        clock.now += 0.5  # each send takes half a second of wall time

    stats = run_simulation(
        slow, config=default_config(), seed=1, time_scale=600, start=START, duration_s=1800,
        clock=clock, sleep=clock.sleep,
    )  # fmt: skip
    assert len(sent) == len(run(default_config(), seed=1, hours=0.5))
    assert stats.max_late_s > 10  # ~200 events of 0.5 s against a 3 s schedule


def test_stop_ends_the_run_between_events() -> None:
    clock = FakeClock()
    stop = threading.Event()
    sent: list[bytes] = []

    def sink(key: bytes, value: bytes) -> None:
        sent.append(value)
        if len(sent) == 25:
            stop.set()

    stats = run_simulation(
        sink, config=default_config(), seed=1, time_scale=10, start=START, stop=stop,
        clock=clock, sleep=clock.sleep,
    )  # fmt: skip
    assert len(sent) == 25 and stats.stopped and stats.events == 25


def test_stop_interrupts_a_long_wait() -> None:
    # the first calls come minutes apart at time scale 1: the runner sleeps in slices and
    # must notice a stop set during the wait
    clock = FakeClock()
    stop = threading.Event()
    sent: list[bytes] = []

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.now > 1030:
            stop.set()

    stats = run_simulation(
        lambda k, v: sent.append(v), config=default_config(), seed=1, time_scale=1, start=START,
        stop=stop, clock=clock, sleep=sleep,
    )  # fmt: skip
    assert stats.stopped
    assert clock.now < 1030.3
    assert all((decode_event(v).ts - START).total_seconds() <= 30.3 for v in sent)


def test_unpaced_run_never_sleeps() -> None:
    clock = FakeClock()
    sent: list[bytes] = []
    run_simulation(
        lambda k, v: sent.append(v), config=default_config(), seed=1, time_scale=math.inf, start=START,
        duration_s=7200, clock=clock, sleep=clock.sleep,
    )  # fmt: skip
    assert clock.sleeps == [] and len(sent) == len(run(default_config(), seed=1, hours=2))


def test_rate_scales_the_floor_not_the_pace() -> None:
    base: list[bytes] = []
    big: list[bytes] = []
    for out, rate in ((base, None), (big, 1.9)):  # default floor averages ~0.19 events/s
        run_simulation(
            lambda k, v, out=out: out.append(v), config=default_config(), seed=2, rate_per_s=rate,
            time_scale=math.inf, start=START, duration_s=4 * 3600,
        )  # fmt: skip
    assert len(big) == pytest.approx(10 * len(base), rel=0.2)
    agents = {ev.agent for ev in map(decode_event, big) if isinstance(ev, AgentLogin)}
    assert 300 < len(agents) < 380


def test_without_a_start_event_time_is_now() -> None:
    sent: list[bytes] = []
    before = dt.datetime.now(dt.UTC)
    run_simulation(
        lambda k, v: sent.append(v), config=default_config(), seed=1, time_scale=math.inf, duration_s=1
    )
    first = decode_event(sent[0])
    assert first.ts.tzinfo is not None
    assert abs((first.ts - before).total_seconds()) < 5


def test_time_scale_must_be_positive() -> None:
    with pytest.raises(ValueError, match="time_scale"):
        run_simulation(lambda k, v: None, config=default_config(), seed=1, time_scale=0)
