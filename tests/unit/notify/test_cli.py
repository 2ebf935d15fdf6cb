"""`floorwatch notify --check` and the notifier as a child of `floorwatch up`."""

from __future__ import annotations

from pathlib import Path

import pytest

from floorwatch.cli import main
from floorwatch.supervisor import Supervisor, child_env
from shared.config import Settings

GOOD = "receivers:\n  - {name: a, kind: none}\nroute: {receiver: a}\n"


def test_check_accepts_a_good_file_and_refuses_a_bad_one_with_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD)
    bad.write_text("receivers:\n  - {name: a, kind: pager}\nroute: {receiver: a}\n")
    assert main(["notify", "--config", str(good), "--check"]) == 0
    assert "OK — 1 receiver(s), 1 route(s)" in capsys.readouterr().out
    assert main(["notify", "--config", str(bad), "--check"]) == 1
    assert f"{bad}:2: unknown receiver kind 'pager'" in capsys.readouterr().err
    assert main(["notify", "--check"]) == 2  # no file given: says how to give one


def test_up_runs_the_notifier_only_when_it_is_configured(tmp_path: Path) -> None:
    plain = Supervisor(Settings(), simulate_argv=None, log_level="INFO")
    assert [c.name for c in plain.children] == ["ingest", "alerts", "reports"]  # no notifier
    path = tmp_path / "n.yaml"
    path.write_text(GOOD)
    settings = Settings(notify_config=path)
    sup = Supervisor(settings, simulate_argv=None, log_level="INFO")
    [notify] = [c for c in sup.children if c.name == "notify"]
    assert notify.argv == ["notify", "--metrics-port", str(sup.metrics_ports["notify"])]
    assert child_env(settings)["FLOORWATCH_NOTIFY_CONFIG"] == str(path.resolve())


def test_routing_can_live_in_the_rules_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from floorwatch.cli import _has_notifications
    from services.alerts.core.rules.reader import load_rules

    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {name: backlog, metric: calls_waiting, op: '>', value: 5}\n"
                     "notifications:\n  receivers: [{name: a, kind: none}]\n  route: {receiver: a}\n")
    assert [r.name for r in load_rules(rules.read_text()).rules] == ["backlog"]  # the engine ignores it
    assert main(["notify", "--config", str(rules), "--check"]) == 0  # the notifier reads it
    assert "1 receiver(s)" in capsys.readouterr().out
    assert _has_notifications(rules)  # so `floorwatch up --rules rules.yaml` runs the notifier
    plain = tmp_path / "plain.yaml"
    plain.write_text("rules: []\n")
    assert not _has_notifications(plain) and not _has_notifications(None)
