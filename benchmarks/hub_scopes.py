"""One alert fanned out to many WebSocket sessions whose equal scopes are distinct objects.

    .venv/bin/python -m benchmarks.hub_scopes [--sessions 10000] [--alerts 30]

The hub decides an alert's visibility once per scope object. A token store that builds a
principal per connection (the SQL one) gives every session its own, equal, scope object, so the
decision ran once per session. The hub now interns scopes (``Hub._interned``). This times
``Hub.publish`` of one alert in process (no sockets: every session queues it), with interning as
it is and, as the baseline in the same run, with it bypassed; for an alert every session sees and
for one none of them sees. Prints the median and max per alert.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import orjson
from prometheus_client import CollectorRegistry

from services.api.auth import Principal, Scope
from services.api.hub import Hub, HubOptions
from services.api.metrics import ApiMetrics
from services.api.ports import FeedItem
from services.api.state import LiveState, Update

SITE = "bj-01"


def floor() -> dict[str, Any]:
    return {"site": SITE, "as_of": "2026-12-01T09:00:00+08:00", "seq": 1,
            "queues": [{"queue": "sales", "calls_waiting": 3}, {"queue": "care", "calls_waiting": 0}],
            "teams": [{"team": "t1"}], "agents": [{"agent": "a1", "team": "t1", "queues": ["sales"],
                                                   "state": "available"}]}


def alert(n: int, queue: str) -> dict[str, Any]:
    return {"id": f"fp{n}", "fingerprint": f"fp{n}", "rule": "calls-waiting", "kind": "threshold",
            "severity": "warning", "state": "firing", "previous": "pending",
            "scope": {"site": SITE, "queue": queue}, "summary": "x", "value": 12.0, "threshold": 10.0,
            "started_at": "2026-12-01T01:00:00+00:00", "updated_at": "2026-12-01T01:00:00+00:00",
            "event_time": "2026-12-01T01:00:00+00:00", "ack": None, "silenced_until": None,
            "labels": {}, "details": {}, "transition_id": f"fp{n}:1"}


def run(sessions: int, alerts: int, intern: bool) -> dict[str, list[float]]:
    live = LiveState()
    hub = Hub(live, ApiMetrics(CollectorRegistry(), live),
              HubOptions(max_sessions=sessions * 2, max_alert_backlog=alerts * 4), clock=time.monotonic)
    if not intern:
        hub._interned = lambda scope: scope  # type: ignore[method-assign]  # the baseline
    update = live.apply(FeedItem("floor", SITE, orjson.dumps(floor())))  # type: ignore[arg-type]
    assert isinstance(update, Update)
    hub.publish(update)
    opened = []
    for i in range(sessions):  # a principal per connection, as the SQL token store makes them
        s = hub.open(Principal("supervisor", Scope.of(sites=[SITE], queues=["sales"]), f"u{i}", key=f"k{i}"))
        hub.attach(s)
        while hub.next_frame(s) is not None:  # its hello
            pass
        opened.append(s)
    out: dict[str, list[float]] = {"seen by all": [], "seen by none": []}
    for n in range(alerts):
        for label, queue in (("seen by all", "sales"), ("seen by none", "care")):
            doc = alert(2 * n + (label == "seen by none"), queue)
            upd = live.apply(FeedItem("alert", SITE, orjson.dumps(doc)))  # type: ignore[arg-type]
            assert isinstance(upd, Update)
            t0 = time.perf_counter()
            hub.publish(upd)
            out[label].append(time.perf_counter() - t0)
            for s in opened:
                s.pending.clear()
                s.alert_backlog = 0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sessions", type=int, default=10_000)
    ap.add_argument("--alerts", type=int, default=30)
    args = ap.parse_args()
    for intern in (False, True, False, True):
        got = run(args.sessions, args.alerts, intern)
        name = "interned" if intern else "baseline (one scope object per session)"
        text = ", ".join(f"{k}: median {statistics.median(v) * 1000:.1f} ms, max {max(v) * 1000:.1f} ms"
                         for k, v in got.items())
        print(f"{args.sessions:,} sessions, {name}: {text}")


if __name__ == "__main__":
    main()
