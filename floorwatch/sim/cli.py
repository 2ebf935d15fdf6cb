"""Arguments of ``floorwatch simulate`` (and ``floorwatch up --simulate``).

``floorwatch/cli.py`` owns the parser and the Kafka sink; this module adds the simulator's
options and turns them into a :class:`SimConfig` and the runner's keyword arguments::

    add_arguments(sub)                       # once, while building the parser
    config = config_from_args(args)          # ValueError with a readable reason on bad input
    run_simulation(sink, config=config, stop=stop, **runner_kwargs(args))
"""

from __future__ import annotations

import argparse
import math
import re
from typing import Any

from floorwatch.sim.config import SimConfig, default_config, with_agents, with_queues
from floorwatch.sim.incidents import GRAMMAR, parse_incident
from floorwatch.sim.model import check_incidents
from floorwatch.sim.plans import with_event_rate

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("simulator")
    g.add_argument("--seed", type=int, default=1, help="random seed; same seed, same floor (default 1)")
    size = g.add_mutually_exclusive_group()
    size.add_argument(
        "--rate",
        type=_positive_float,
        metavar="N",
        help="scale the floor to emit about N events/s of event time (day average)",
    )
    size.add_argument(
        "--agents",
        type=_positive_int,
        metavar="N",
        help="about N agents (default 34); arrivals scale with them",
    )
    g.add_argument(
        "--time-scale",
        type=_time_scale,
        default=1.0,
        metavar="X",
        help="event-time seconds per wall second (default 1; 'max' = unpaced)",
    )
    g.add_argument(
        "--duration",
        type=parse_duration,
        default=None,
        metavar="D",
        help="stop after D of event time: 90, 90s, 30m, 8h, 1d (default: run until stopped)",
    )
    g.add_argument(
        "--incident",
        type=_incident,
        action="append",
        default=[],
        metavar="SPEC",
        help=f"inject an incident (repeatable): {GRAMMAR}",
    )
    g.add_argument("--site", default=None, help="site name (default bj-01)")
    g.add_argument(
        "--queues",
        type=_names,
        default=None,
        metavar="Q1,Q2",
        help="queues to simulate (default sales,service,vip; other names get generic defaults)",
    )


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """The floor the arguments describe, checked (unknown incident targets raise ValueError)."""
    config = default_config()
    if args.site:
        config = config.replace(site=args.site)
    if args.queues:
        config = with_queues(config, args.queues)
    if args.agents:
        config = with_agents(config, args.agents)
    config = config.replace(incidents=tuple(args.incident))
    if args.rate:
        config = with_event_rate(config, args.rate)
    check_incidents(config)
    return config


def runner_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``seed``, ``time_scale`` and ``duration_s`` for ``run_simulation``."""
    return {"seed": args.seed, "time_scale": args.time_scale, "duration_s": args.duration}


def parse_duration(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", text.strip())
    if m is None:
        raise argparse.ArgumentTypeError(f"bad duration {text!r}; e.g. 90, 90s, 30m, 8h, 1d")
    return float(m[1]) * _UNITS[m[2]]


def _incident(text: str) -> object:
    try:
        return parse_incident(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _time_scale(text: str) -> float:
    if text.strip().lower() in ("max", "inf"):
        return math.inf
    return _positive_float(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names or any(not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", n) for n in names):
        raise argparse.ArgumentTypeError(f"expected comma-separated queue names, got {text!r}")
    return names
