"""LiveState: active alerts, latest floor, dedup of redelivered transitions."""

from __future__ import annotations

import orjson

from services.api.ports import FeedItem
from services.api.state import LiveState, Skip, Update

from . import samples


def alert_item(doc: dict) -> FeedItem:
    return FeedItem("alert", doc["scope"]["site"], orjson.dumps(doc))


def floor_item(doc: dict) -> FeedItem:
    return FeedItem("floor", doc["site"], orjson.dumps(doc))


def test_redelivered_transition_is_dropped() -> None:
    live = LiveState()
    assert isinstance(live.apply(alert_item(samples.alert("fp", n=1))), Update)
    assert isinstance(live.apply(alert_item(samples.alert("fp", n=2, state="resolved"))), Update)
    again = live.apply(alert_item(samples.alert("fp", n=1)))
    assert again == Skip("duplicate", "fp:1")
    assert live.alerts() == []  # the redelivered "firing" did not bring it back


def test_dedup_memory_is_bounded() -> None:
    live = LiveState(dedup_size=2)
    for n in (1, 2, 3):
        live.apply(alert_item(samples.alert("fp", n=n)))
    assert isinstance(live.apply(alert_item(samples.alert("fp", n=3))), Skip)
    # fp:1 was forgotten (oldest of three with room for two): accepted again
    assert isinstance(live.apply(alert_item(samples.alert("fp", n=1))), Update)


def test_active_alerts_pending_and_firing_resolved_removed() -> None:
    live = LiveState()
    live.apply(alert_item(samples.alert("a", state="pending")))
    live.apply(alert_item(samples.alert("b", state="firing")))
    live.apply(alert_item(samples.alert("c", state="firing")))
    live.apply(alert_item(samples.alert("c", state="resolved", n=2)))
    assert [(a["fingerprint"], a["state"]) for a in live.alerts()] == [("a", "pending"), ("b", "firing")]


def test_older_floor_snapshot_is_ignored() -> None:
    live = LiveState()
    live.apply(floor_item(samples.floor(as_of="2026-11-28T09:15:05+08:00", seq=5)))
    older = live.apply(floor_item(samples.floor(as_of="2026-11-28T01:15:04+00:00", seq=4)))
    assert isinstance(older, Skip) and older.reason == "stale"
    same_instant_other_offset = live.apply(floor_item(samples.floor(as_of="2026-11-28T01:15:05Z", seq=6)))
    assert isinstance(same_instant_other_offset, Update)
    assert live.floor("bj-01")["seq"] == 6


def test_invalid_records_are_skipped_with_a_reason() -> None:
    live = LiveState()
    assert live.apply(FeedItem("alert", "bj-01", b"{nope")).reason == "invalid"
    assert live.apply(FeedItem("alert", "bj-01", b"[]")).reason == "invalid"
    odd_state = b'{"fingerprint": "x", "state": "odd", "scope": {}}'
    assert live.apply(FeedItem("alert", "bj-01", odd_state)).reason == "invalid"
    assert live.apply(FeedItem("floor", "bj-01", b'{"as_of": "x"}')).reason == "invalid"


def test_ready_after_first_record_or_mark_ready() -> None:
    live = LiveState()
    assert not live.ready
    live.mark_ready()
    assert live.ready
    other = LiveState()
    other.apply(floor_item(samples.floor()))
    assert other.ready


def _with(doc: dict, path: tuple, value: object) -> dict:
    """``doc`` with the field at ``path`` (keys and list indexes) set to ``value``."""
    out = orjson.loads(orjson.dumps(doc))
    held = out
    for key in path[:-1]:
        held = held[key]
    held[path[-1]] = value
    return out


# each makes scoping.py raise on a queue- or team-scoped caller when held
MALFORMED_ALERTS = [(("labels",), "x"), (("labels",), ["queue"]), (("labels",), {"queue": ["sales"]}),
                    (("scope", "queue"), ["sales"]), (("scope", "team"), {"t": 1}),
                    (("scope", "agent"), ["a1"]), (("scope", "campaign"), ["p"])]
MALFORMED_FLOORS = [(("agents",), "x"), (("agents", 0), "a1"), (("agents", 0, "queues"), 5),
                    (("agents", 0, "team"), ["t-sales"]), (("agents", 0, "state"), {"s": 1}),
                    (("queues", 0, "queue"), ["sales"]), (("queues", 0, "offered"), "100"),
                    (("queues", 0, "calls_waiting"), "3"), (("teams", 0), None),
                    (("projects",), {"p": 1}), (("projects", 0, "queues"), 5)]


def test_alerts_scoping_cannot_read_are_skipped_as_invalid() -> None:
    for path, bad in MALFORMED_ALERTS:
        live = LiveState()
        result = live.apply(alert_item(_with(samples.alert("fp-1"), path, bad)))
        assert isinstance(result, Skip) and result.reason == "invalid", (path, bad, result)
        assert live.alerts() == []
    live = LiveState()  # the fields may be absent or null
    doc = samples.alert("fp-1") | {"labels": None}
    assert isinstance(live.apply(alert_item(doc)), Update)


def test_floors_scoping_cannot_read_are_skipped_and_the_held_one_stays() -> None:
    for path, bad in MALFORMED_FLOORS:
        live = LiveState()
        live.apply(floor_item(samples.floor_with_projects(seq=1)))
        later = _with(samples.floor_with_projects(seq=2, as_of="2026-11-28T09:16:00+08:00"), path, bad)
        result = live.apply(floor_item(later))
        assert isinstance(result, Skip) and result.reason == "invalid", (path, bad, result)
        assert live.floor("bj-01")["seq"] == 1
