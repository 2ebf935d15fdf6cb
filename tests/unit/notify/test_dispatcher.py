"""Grouping and timing as Alertmanager defines them, quiet times, dedup, acks, escalation and the
rate-limit planning — the pure dispatcher, fed by hand with an explicit clock."""

from __future__ import annotations

import json

from services.notify.core import Alert, Dispatcher, Ledger, Notification, load_config
from shared.quiet_times import next_change

from .factory import T0, alert

CONFIG = """\
receivers:
  - {name: hook, kind: webhook, url: "http://127.0.0.1:9/"}
  - {name: robot, kind: wecom, url: "http://127.0.0.1:9/"}
  - {name: boss, kind: webhook, url: "http://127.0.0.1:9/boss"}
route:
  receiver: hook
  group_by: [site, alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 1h
  routes:
    - name: floor
      match: {queue: lunchtime}
      receiver: hook
      mute_time_intervals: [lunch]
    - name: robot
      match: {site: sh-02}
      receiver: robot
      group_by: [site, alertname, agent]
      group_wait: 0s
      group_interval: 10s
      escalate_to: boss
    - name: boss
      match: {role: never}
      receiver: boss
time_intervals:
  - name: lunch
    time_intervals:
      - times: [{start_time: "12:00", end_time: "13:00"}]
        location: Asia/Shanghai
"""


def make(text: str = CONFIG) -> tuple[Dispatcher, Ledger]:
    cfg = load_config(text)
    return Dispatcher(cfg, "p0"), Ledger({r.name: r.rate_limit for r in cfg.receivers})


def run(d: Dispatcher, ledger: Ledger, until: float) -> list[tuple[float, Notification]]:
    """Flush at every deadline up to ``until`` (what the shell's loop does)."""
    out = []
    while (due := d.next_deadline()) is not None and due <= until:
        out.extend((due, n) for n in d.flush(due, ledger))
    return out


def drive(d: Dispatcher, ledger: Ledger, feed: list[Alert], until: float) -> list[tuple[float, Notification]]:
    """Alerts arrive at their ``updated_at``; flushes happen at their deadlines in between."""
    out = []
    for a in feed:
        out += run(d, ledger, a.updated_at)
        d.on_alert(a, a.updated_at)
    return out + run(d, ledger, until)


def test_group_wait_collects_alerts_that_fire_together() -> None:
    # t0: a fires; t0+10: b fires (same group); t0+30: one notification with both
    d, ledger = make()
    d.on_alert(alert("aht-spike", queue="sales", at=T0), T0)
    d.on_alert(alert("aht-spike", queue="support", at=T0 + 10), T0 + 10)
    sent = run(d, ledger, T0 + 299)
    assert len(sent) == 1
    at, note = sent[0]
    assert at == T0 + 30
    assert [a.label_map["queue"] for a in note.firing] == ["sales", "support"]
    assert note.group_key == '{}/root:{site="bj-01", alertname="aht-spike"}'


def test_group_interval_then_repeat_interval() -> None:
    # t0 fire → t0+30 first; t0+60 new alert → t0+330 (group_interval after the first);
    # nothing changes → repeat at t0+330+1h
    d, ledger = make()
    sent = drive(d, ledger, [alert(queue="sales", at=T0), alert(queue="support", at=T0 + 60)],
                 T0 + 330 + 3600 + 1)
    assert [at - T0 for at, _ in sent] == [30, 330, 330 + 3600]
    assert [len(n.firing) for _, n in sent] == [1, 2, 2]
    assert [n.repeat for _, n in sent] == [False, False, True]
    assert len({n.id for _, n in sent}) == 3


def test_resolved_is_announced_once_and_the_group_ends() -> None:
    d, ledger = make()
    sent = drive(d, ledger, [alert(queue="sales", at=T0, fp="f1"),
                             alert(state="resolved", queue="sales", at=T0 + 100, fp="f1")], T0 + 9000)
    assert [(at - T0, n.status) for at, n in sent] == [(30, "firing"), (330, "resolved")]
    assert d.groups == {}


def test_resolved_before_the_first_notification_sends_nothing() -> None:
    d, ledger = make()
    d.on_alert(alert(queue="sales", at=T0, fp="f1"), T0)
    d.on_alert(alert(state="resolved", queue="sales", at=T0 + 5, fp="f1"), T0 + 5)
    assert run(d, ledger, T0 + 9000) == []


def test_a_transition_seen_before_is_ignored_also_after_restore() -> None:
    d, ledger = make()
    rec = alert(queue="sales", at=T0, tid="x:1")
    assert d.on_alert(rec, T0)
    assert not d.on_alert(rec, T0 + 1)
    restored = Dispatcher.restore(d.config, d.snapshot(), "p0")
    assert not restored.on_alert(rec, T0 + 2)
    # the restored dispatcher sends the same notification (same id) the original would have
    assert [n.id for n in restored.flush(T0 + 30, ledger)] == [n.id for n in d.flush(T0 + 30, Ledger({}))]


def test_acknowledged_and_silenced_alerts_stop_repeating() -> None:
    d, ledger = make()
    d.on_alert(alert(queue="sales", at=T0, fp="a"), T0)
    d.on_alert(alert(queue="support", at=T0, fp="b"), T0)
    assert len(run(d, ledger, T0 + 31)) == 1
    d.on_alert(alert(queue="sales", at=T0 + 60, fp="a", ack="lead-1"), T0 + 60)
    d.on_alert(alert(queue="support", at=T0 + 60, fp="b", silenced_until=T0 + 86400), T0 + 60)
    assert run(d, ledger, T0 + 6 * 3600) == []


def test_quiet_time_holds_the_message_until_it_ends_then_sends_what_still_fires() -> None:
    # 12:10 Shanghai (lunch 12:00-13:00): fires → nothing until 13:00, then one message
    noon = T0 + 3 * 3600 + 600  # T0 is 09:00 +08:00
    d, ledger = make()
    d.on_alert(alert(queue="lunchtime", at=noon, fp="l"), noon)
    sent = run(d, ledger, noon + 3600)
    assert len(sent) == 1
    assert sent[0][0] == T0 + 4 * 3600  # 13:00 sharp
    assert sent[0][1].route == "floor"


def test_rate_limit_groups_a_burst_instead_of_dropping() -> None:
    # 1,000 transitions in one minute, each a different agent (its own group on route robot),
    # to one WeCom robot (20 messages a minute): every alert reaches the robot, in few messages,
    # and no 60 s window holds more than 20.
    d, ledger = make()
    feed = [alert("agent-idle", site="sh-02", queue=None, agent=f"a{i:04d}", at=T0 + i * 0.06)
            for i in range(1000)]
    sent = drive(d, ledger, feed, T0 + 600)
    times = sorted(at for at, _ in sent)
    assert all(sum(1 for u in times if s <= u < s + 60) <= 20 for s in times)
    delivered = [a.label_map["agent"] for _, n in sent for a in n.firing]
    assert sorted(set(delivered)) == [f"a{i:04d}" for i in range(1000)]  # grouping, not dropping
    assert len(sent) <= 40


def test_a_blocked_receiver_holds_its_groups_and_others_go_on() -> None:
    d, ledger = make()
    d.on_alert(alert(queue="sales", at=T0), T0)
    d.on_alert(alert("agent-idle", site="sh-02", queue=None, agent="a1", at=T0), T0)
    first = d.flush(T0 + 30, ledger, blocked=frozenset({"hook"}))
    assert [n.receiver for n in first] == ["robot"]
    d.on_alert(alert(queue="support", at=T0 + 31), T0 + 31)
    later = run(d, ledger, T0 + 36)
    assert [(n.receiver, len(n.firing)) for _, n in later] == [("hook", 2)]  # folded in meanwhile


def test_escalated_alerts_also_take_the_named_route() -> None:
    d, ledger = make()
    sent = drive(d, ledger, [
        alert("agent-idle", site="sh-02", queue=None, agent="a1", at=T0, fp="e"),
        alert("agent-idle", site="sh-02", queue=None, agent="a1", at=T0 + 900, fp="e", severity="critical",
              escalated=True)], T0 + 1000)
    assert [(n.route, n.firing[0].severity) for _, n in sent] == [
        ("robot", "warning"), ("robot", "critical"), ("boss", "critical")]


def test_next_change_finds_the_end_of_a_quiet_time() -> None:
    cfg = load_config(CONFIG)
    lunch = cfg.time_intervals
    assert next_change(lunch, T0) == T0 + 3 * 3600  # 09:00 → lunch starts 12:00
    assert next_change(lunch, T0 + 3 * 3600 + 1) == T0 + 4 * 3600


def test_an_alert_that_escalates_into_another_route_stops_repeating_in_its_first_group() -> None:
    # t0: warning fires (root → hook) → t0: sent; t0+600: escalated to critical, now matching
    # "managers" only → sent to boss; t0+660: acked; t0+720: resolved → announced to both at the
    # groups' next look, t0+780; then 3 h of nothing: no "still firing" repeat of the old
    # warning, and every group is freed
    d, ledger = make("""\
receivers: [{name: hook, kind: none}, {name: boss, kind: none}]
route:
  receiver: hook
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 1h
  routes:
    - {name: managers, match: {escalated: "true"}, receiver: boss}
""")
    esc = {"labels": {"escalated": "true"}, "severity": "critical", "escalated": True, "fp": "f"}
    sent = drive(d, ledger, [alert(at=T0, fp="f"), alert(at=T0 + 600, **esc),  # type: ignore[arg-type]
                             alert(at=T0 + 660, ack="lead-1", **esc),  # type: ignore[arg-type]
                             alert(state="resolved", at=T0 + 720, **esc)], T0 + 4 * 3600)  # type: ignore[arg-type]
    assert [(at - T0, n.receiver, n.status) for at, n in sent] == [
        (0, "hook", "firing"), (600, "boss", "firing"), (780, "boss", "resolved"), (780, "hook", "resolved")]
    assert d.groups == {} and d.holding == {}


def test_a_restored_group_whose_unnamed_route_changed_is_dropped() -> None:
    # v1: root.0 = critical → boss; v2 inserts a route first, so root.0 = queue sales → robot.
    # The group restored under the name root.0 must not repeat to robot, a receiver its route
    # never had; restored under the same file, it is kept.
    head = """\
receivers: [{name: hook, kind: none}, {name: boss, kind: none}, {name: robot, kind: none}]
route:
  receiver: hook
  group_wait: 0s
  repeat_interval: 1h
  routes:
"""
    v1 = load_config(head + "    - {match: {severity: critical}, receiver: boss}\n")
    v2 = load_config(head + "    - {match: {queue: sales}, receiver: robot}\n"
                            "    - {match: {severity: critical}, receiver: boss}\n")
    d = Dispatcher(v1, "p0")
    d.on_alert(alert(queue="billing", severity="critical", at=T0), T0)
    assert [(n.route, n.receiver) for n in d.flush(T0, Ledger({}))] == [("root.0", "boss")]
    snap = json.loads(json.dumps(d.snapshot()))
    assert list(Dispatcher.restore(v1, snap, "p0").groups) == list(d.groups)
    restored = Dispatcher.restore(v2, snap, "p0")
    assert restored.groups == {}
    assert run(restored, Ledger({}), T0 + 3 * 3600) == []
