"""One place for configuration (issue 8, section 5): every flag that changes a setting names a
``Settings`` field, nothing beside ``Settings`` reads ``FLOORWATCH_*``, and flags beat the
environment."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from floorwatch import cli
from shared.config import SETTING, Settings

REPO = Path(__file__).resolve().parents[2]


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    out: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out[name] = sub
                out.update({f"{name} {k}": v for k, v in subparsers(sub).items()})
    return out


def test_no_flag_is_mapped_to_a_setting_by_hand() -> None:
    fields = set(Settings.model_fields)
    for name, sub in subparsers(cli.build_parser()).items():
        for action in sub._actions:
            assert action.dest not in fields, (
                f"`floorwatch {name}` {action.option_strings}: declare it with setting_flag(field=...)")
            if action.dest.startswith(SETTING):
                field = action.dest.removeprefix(SETTING)
                assert field in fields
                assert f"FLOORWATCH_{field.upper()}" in (action.help or "")


def test_nothing_but_settings_reads_floorwatch_variables() -> None:
    # The CLI used to read FLOORWATCH_LOG_LEVEL and FLOORWATCH_API_WORKERS around Settings.
    reads = re.compile(r"""os\.(environ(\.get)?|getenv)\s*[\[(]\s*["']FLOORWATCH_""")
    offenders = [
        str(path.relative_to(REPO))
        for package in ("floorwatch", "services", "shared")
        for path in (REPO / package).rglob("*.py")
        if reads.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_environment_then_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = cli.build_parser()
    monkeypatch.setenv("FLOORWATCH_LOG_LEVEL", "debug")
    monkeypatch.setenv("FLOORWATCH_API_WORKERS", "3")
    monkeypatch.setenv("FLOORWATCH_PORT", "9000")
    settings = cli._settings(parser.parse_args(["api"]))
    assert (settings.log_level, settings.api_workers, settings.port) == ("DEBUG", 3, 9000)
    argv = ["api", "--workers", "2", "--port", "8001", "--log-level", "ERROR"]
    settings = cli._settings(parser.parse_args(argv))
    assert (settings.log_level, settings.api_workers, settings.port) == ("ERROR", 2, 8001)
    # a one-shot tool is quiet by default, whatever the services' level
    assert cli._logging_settings(parser.parse_args(["rules", "check", "x.yaml"]))[0] == "WARNING"
    monkeypatch.setenv("FLOORWATCH_LOG_FORMAT", "json")
    assert cli._logging_settings(parser.parse_args(["ingest"])) == ("DEBUG", "json")


def test_a_bad_setting_is_refused_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOORWATCH_LOG_LEVEL", "LOUD")
    with pytest.raises(ValueError, match="log_level"):
        cli._settings(cli.build_parser().parse_args(["ingest"]))


def test_up_alerts_processes_from_the_environment_or_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    from floorwatch.supervisor import alerts_names, partitions_for

    parser = cli.build_parser()
    up = cli._settings(parser.parse_args(["up"]))
    # the default is `make run` as before: one alerts process, named as before, 3 partitions
    assert (up.alerts_processes, alerts_names(1), partitions_for(up)) == (1, ["alerts"], 3)
    monkeypatch.setenv("FLOORWATCH_ALERTS_PROCESSES", "3")
    assert cli._settings(parser.parse_args(["up"])).alerts_processes == 3
    argv = ["up", "--alerts-processes", "2", "--simulate", "--agents", "40"]
    args = parser.parse_args(argv)
    args.raw_argv = argv
    two = cli._settings(args)
    assert two.alerts_processes == 2 and alerts_names(2) == ["alerts-0", "alerts-1"]
    # partitions: at least one per process, a multiple of their number (an even split)
    got = [partitions_for(two.model_copy(update={"partitions": p})) for p in (1, 2, 3, 4, 5)]
    assert got == [2, 2, 4, 4, 6]
    assert cli._sim_argv(args) == ["--agents", "40"]  # not passed on to the simulator
    with pytest.raises(SystemExit):
        parser.parse_args(["up", "--alerts-processes", "0"])
