"""``floorwatch simulate`` options → SimConfig and runner arguments."""

from __future__ import annotations

import argparse
import math

import pytest

from floorwatch.sim.cli import add_arguments, config_from_args, parse_duration, runner_kwargs
from floorwatch.sim.config import default_config
from floorwatch.sim.incidents import AhtJump, TeamLunch
from floorwatch.sim.plans import expected_events_per_s


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="floorwatch simulate", exit_on_error=False)
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_no_options_give_the_default_floor() -> None:
    args = parse()
    assert config_from_args(args) == default_config()
    assert runner_kwargs(args) == {"seed": 1, "time_scale": 1.0, "duration_s": None}


def test_options_reach_the_config_and_the_runner() -> None:
    args = parse(
        "--seed", "42", "--site", "sh-02", "--agents", "68", "--time-scale", "60", "--duration", "2h",
        "--incident", "aht:sales@10x1.4", "--incident", "lunch:huanghe@120+30",
    )  # fmt: skip
    config = config_from_args(args)
    assert config.site == "sh-02"
    assert len(config.agent_ids()) == 68
    assert config.incidents == (
        AhtJump(queue="sales", at_minute=10, factor=1.4),
        TeamLunch(team="huanghe", at_minute=120, minutes=30),
    )
    assert runner_kwargs(args) == {"seed": 42, "time_scale": 60.0, "duration_s": 7200.0}


def test_rate_scales_the_floor_to_the_wanted_events_per_second() -> None:
    config = config_from_args(parse("--rate", "50"))
    assert expected_events_per_s(config) == pytest.approx(50, rel=0.01)
    assert len(config.agent_ids()) > 5000


def test_queues_can_be_narrowed_or_invented() -> None:
    config = config_from_args(parse("--queues", "sales,service"))
    assert [q.name for q in config.queues] == ["sales", "service"]
    assert all(set(t.skills) <= {"sales", "service"} and t.skills for t in config.teams)
    assert [p.name for p in config.projects] == ["kd-upgrade", "xyk-signup"]
    tech = config_from_args(parse("--queues", "sales,tech"))
    assert any("tech" in t.skills for t in tech.teams)
    assert tech.queue("tech").campaigns == ()


@pytest.mark.parametrize(
    "argv",
    [
        ("--rate", "5", "--agents", "10"),
        ("--incident", "aht:sales@10"),
        ("--time-scale", "0"),
        ("--duration", "soon"),
        ("--queues", ",,"),
        ("--agents", "0"),
    ],
)
def test_bad_options_are_refused_by_the_parser(argv: tuple[str, ...]) -> None:
    with pytest.raises((argparse.ArgumentError, SystemExit)):
        parse(*argv)


def test_an_incident_on_an_unknown_agent_is_refused_with_the_id_format() -> None:
    with pytest.raises(ValueError, match=r"unknown agent 'zz001'.*e\.g\. cj001"):
        config_from_args(parse("--incident", "park:zz001@5"))


def test_durations_and_unpaced_time_scale() -> None:
    assert [parse_duration(t) for t in ("90", "90s", "30m", "1.5h", "1d")] == [90, 90, 1800, 5400, 86400]
    assert parse("--time-scale", "max").time_scale == math.inf
