"""The notifications file: a good file reads into the routing tree; a bad one is refused with
every problem and its line."""

from __future__ import annotations

import pytest

from services.notify.core import ConfigError, load_config
from services.notify.core.config import VENDOR_LIMITS

GOOD = """\
notifications:
  language: zh
  receivers:
    - name: ops-webhook
      kind: webhook
      url: http://127.0.0.1:9/hook
      secret: env:HOOK_SECRET
    - name: floor-wecom
      kind: wecom
      url: env:WECOM_URL
    - name: managers
      kind: email
      to: [boss@example.com]
      from: floorwatch@example.com
      smarthost: 127.0.0.1:25
      language: en
  route:
    receiver: ops-webhook
    group_by: [site, alertname]
    group_wait: 10s
    group_interval: 1m
    repeat_interval: 2h
    routes:
      - name: critical
        matchers: ['severity="critical"', 'site=~"bj-.*"']
        receiver: floor-wecom
        continue: true
        mute_time_intervals: [lunch]
        escalate_to: escalations
      - name: escalations
        match: {escalated: "true"}
        receiver: managers
        repeat_interval: 30m
  wallboard: {sound: critical, mute_time_intervals: [lunch]}
  time_intervals:
    - name: lunch
      time_intervals:
        - times: [{start_time: "12:00", end_time: "13:00"}]
          weekdays: ["monday:friday"]
          location: Asia/Shanghai
"""


def test_a_good_file_reads_into_the_tree_with_inherited_timings() -> None:
    cfg = load_config(GOOD, "n.yaml")
    assert [r.name for r in cfg.receivers] == ["ops-webhook", "floor-wecom", "managers"]
    assert cfg.receiver("floor-wecom").language == "zh"  # the file's language
    assert cfg.receiver("managers").language == "en"
    assert cfg.receiver("floor-wecom").rate_limit == VENDOR_LIMITS["wecom"]
    root = cfg.route
    assert (root.group_wait, root.group_interval, root.repeat_interval) == (10, 60, 7200)
    critical, escalations = root.routes
    assert critical.name == "critical" and critical.continue_ and critical.group_interval == 60
    assert [str(m) for m in critical.matchers] == ['severity="critical"', 'site=~"bj-.*"']
    assert escalations.repeat_interval == 1800 and escalations.group_by == ("site", "alertname")
    assert cfg.time_intervals[0].periods[0].weekdays == frozenset(range(5))
    assert cfg.time_intervals[0].periods[0].times == ((720, 780),)
    assert (cfg.wallboard_sound, cfg.wallboard_mute) == ("critical", ("lunch",))


@pytest.mark.parametrize(("text", "line", "needle"), [
    ("receivers: []\nroute: {receiver: nobody}\n", 2, "unknown receiver 'nobody'"),
    ("receivers:\n  - {name: a, kind: pager, url: x}\nroute: {receiver: a}\n", 2,
     "unknown receiver kind 'pager'"),
    ("receivers:\n  - {name: a, kind: webhook}\nroute: {receiver: a}\n", 2, "needs a url"),
    ("receivers:\n  - {name: a, kind: webhook, url: x, secret: hunter2}\nroute: {receiver: a}\n", 2,
     "must be a reference"),
    ("receivers:\n  - {name: a, kind: webhook, url: x}\nroute:\n  receiver: a\n  group_wait: soon\n", 5,
     "bad duration"),
    ("receivers:\n  - {name: a, kind: webhook, url: x}\nroute:\n  receiver: a\n  routes:\n"
     "    - matchers: ['severity critical']\n", 6, "bad matcher"),
    ("receivers:\n  - {name: a, kind: webhook, url: x}\nroute:\n  receiver: a\n  routes:\n"
     "    - {mute_time_intervals: [night]}\n", 6, "unknown time interval 'night'"),
    ("receivers:\n  - {name: a, kind: webhook, url: x}\nroute: {receiver: a}\ntime_intervals:\n"
     "  - name: x\n    time_intervals:\n      - weekdays: [funday]\n", 7, "weekdays: bad value 'funday'"),
    ("receivers:\n  - {name: a, kind: webhook, url: x}\nroute: {receiver: a}\ntime_intervals:\n"
     "  - name: x\n    time_intervals:\n      - {location: Mars/Olympus}\n", 7, "unknown time zone"),
    ("receivers:\n  - name: a\n    kind: webhook\n    url: x\n    templates:\n      text: |\n"
     "        line one\n        {% if %}\nroute: {receiver: a}\n", 8, "template 'text'"),
    ("receivers: [\nroute: x\n", 3, "YAML syntax"),
    ("receivers:\n  - {name: a, kind: webhook, url: x}\nroute: {receiver: a}\nwallboard:\n  sound: loud\n", 5,
     "wallboard sound: use one of critical, warning, info or false"),
    ("receivers:\n  - {name: a, kind: webhook, url: x}\nroute: {receiver: a}\nwallboard:\n"
     "  mute_time_intervals: [night]\n", 5, "wallboard: unknown time interval 'night'"),
    ("receivers:\n  - {name: a, kind: webhook, url: x}\nroute: {receiver: a}\nextra: 1\n", 4,
     "unknown key 'extra'"),
])
def test_a_bad_file_is_refused_with_line_and_reason(text: str, line: int, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(text, "n.yaml")
    assert any(ln == line and needle in msg for ln, msg in info.value.errors), info.value.errors
    assert f"n.yaml:{line}:" in str(info.value)


def test_every_error_is_reported_not_just_the_first() -> None:
    text = ("receivers:\n  - {name: a, kind: pager, url: x}\n  - {name: b, kind: webhook}\n"
            "route: {receiver: a, group_interval: 0s}\n")
    with pytest.raises(ConfigError) as info:
        load_config(text)
    lines = [ln for ln, _ in info.value.errors]
    assert 2 in lines and 3 in lines and 4 in lines


_OK = "receivers:\n  - {name: a, kind: webhook, url: x}\nroute: {receiver: a}\n"


@pytest.mark.parametrize(("text", "line", "needle"), [
    (_OK + "backlog_limit: !!int abc\n", 4, "cannot read 'abc'"),
    (_OK + "!!python/name:os.system x: 1\n", 4, "could not determine a constructor"),
    ("receivers:\n  - {name: a, kind: webhook, url: x, headers: {X-A: !!float zz}}\n"
     "route: {receiver: a, group_wait: !!int q}\n", 2, "cannot read 'zz'"),
    (_OK + "language: " + "[" * 3000 + "]" * 3000 + "\n", 1, "nested too deeply"),
])
def test_a_value_yaml_cannot_read_is_a_config_error_with_its_line(text: str, line: int, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(text, "n.yaml")
    assert any(ln == line and needle in msg for ln, msg in info.value.errors), info.value.errors
