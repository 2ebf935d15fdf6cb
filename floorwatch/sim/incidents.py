"""Incidents: scripted disturbances of the simulated floor, for demos and tests.

Each incident starts ``at_minute`` minutes after the generator's start (minute 0 = the first
opening). The compact form used on the command line::

    KIND:TARGET@MINUTE[xFACTOR][+MINUTES][/REASON]

    aht:sales@10x1.4          handle time on queue sales x1.4 from minute 10 on
    aht:sales@10x1.4+30       ... for 30 minutes only
    surge:service@30x2+15     arrivals on queue service x2 for 15 minutes
    lunch:changjiang@60+45    team changjiang goes to lunch together at minute 60 for 45 minutes
    park:cj003@20             agent cj003 goes not_ready (break) at minute 20 and never returns
    park:cj003@20/training    ... with reason training
    slow:kd-upgrade@30x0.5    project kd-upgrade converts at half its rate from minute 30 on

Long kind names are accepted too: aht_jump, arrival_surge, team_lunch, agent_parks,
project_slowdown. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class _Windowed:
    at_minute: float
    minutes: float | None = None  # None = until the end of the run

    def active(self, minute: float) -> bool:
        end = None if self.minutes is None else self.at_minute + self.minutes
        return self.at_minute <= minute and (end is None or minute < end)


@dataclass(frozen=True, kw_only=True)
class AhtJump(_Windowed):
    """Talk, hold and wrap-up of calls *answered* on ``queue`` while active take ``factor`` x longer."""

    queue: str
    factor: float

    def spec(self) -> str:
        return f"aht:{self.queue}@{_num(self.at_minute)}x{_num(self.factor)}{_plus(self.minutes)}"


@dataclass(frozen=True, kw_only=True)
class ArrivalSurge(_Windowed):
    """Arrivals on ``queue`` are multiplied by ``factor`` while active."""

    queue: str
    factor: float

    def spec(self) -> str:
        return f"surge:{self.queue}@{_num(self.at_minute)}x{_num(self.factor)}{_plus(self.minutes)}"


@dataclass(frozen=True, kw_only=True)
class ProjectSlowdown(_Windowed):
    """The conversion rate of ``project`` is multiplied by ``factor`` (wrap-ups while active)."""

    project: str
    factor: float

    def spec(self) -> str:
        return f"slow:{self.project}@{_num(self.at_minute)}x{_num(self.factor)}{_plus(self.minutes)}"


@dataclass(frozen=True, kw_only=True)
class TeamLunch:
    """Every logged-in agent of ``team`` goes not_ready together (after the call in hand) and all
    come back at ``at_minute + minutes``."""

    team: str
    at_minute: float
    minutes: float
    reason: str = "lunch"

    def spec(self) -> str:
        tail = "" if self.reason == "lunch" else f"/{self.reason}"
        return f"lunch:{self.team}@{_num(self.at_minute)}+{_num(self.minutes)}{tail}"


@dataclass(frozen=True, kw_only=True)
class AgentParks:
    """``agent`` goes not_ready (after the call in hand) and stays so until its shift ends."""

    agent: str
    at_minute: float
    reason: str = "break"

    def spec(self) -> str:
        tail = "" if self.reason == "break" else f"/{self.reason}"
        return f"park:{self.agent}@{_num(self.at_minute)}{tail}"


Incident = AhtJump | ArrivalSurge | ProjectSlowdown | TeamLunch | AgentParks

GRAMMAR = (
    "KIND:TARGET@MINUTE[xFACTOR][+MINUTES][/REASON], e.g. aht:sales@10x1.4 "
    "(kinds: aht, surge, lunch, park, slow)"
)

_KINDS = {
    "aht": "aht", "aht_jump": "aht",
    "surge": "surge", "arrival_surge": "surge",
    "lunch": "lunch", "team_lunch": "lunch",
    "park": "park", "agent_parks": "park",
    "slow": "slow", "project_slowdown": "slow",
}  # fmt: skip
_NUM = r"\d+(?:\.\d+)?"
_SPEC = re.compile(
    rf"(?P<kind>[a-z_]+):(?P<target>[A-Za-z0-9_.\-]+)@(?P<at>{_NUM})"
    rf"(?:x(?P<factor>{_NUM}))?(?:\+(?P<minutes>{_NUM}))?(?:/(?P<reason>[a-z][a-z0-9_]*))?"
)


def parse_incident(text: str) -> Incident:
    """Parse the compact form (see the module docstring); raise ValueError saying what is wrong."""
    m = _SPEC.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"bad incident {text!r}; expected {GRAMMAR}")
    kind = _KINDS.get(m["kind"])
    if kind is None:
        raise ValueError(f"unknown incident kind {m['kind']!r} in {text!r}; expected {GRAMMAR}")
    target, at = m["target"], float(m["at"])
    factor = None if m["factor"] is None else float(m["factor"])
    minutes = None if m["minutes"] is None else float(m["minutes"])
    reason = m["reason"]

    def refuse(what: str) -> ValueError:
        return ValueError(f"incident {text!r}: {what}")

    if kind in ("aht", "surge", "slow"):
        if factor is None or factor <= 0:
            raise refuse("needs a positive factor, e.g. x1.4")
        if reason is not None:
            raise refuse("takes no /REASON")
        if minutes == 0:
            raise refuse("+MINUTES must be > 0")
        if kind == "aht":
            return AhtJump(queue=target, at_minute=at, factor=factor, minutes=minutes)
        if kind == "surge":
            return ArrivalSurge(queue=target, at_minute=at, factor=factor, minutes=minutes)
        return ProjectSlowdown(project=target, at_minute=at, factor=factor, minutes=minutes)
    if factor is not None:
        raise refuse("takes no xFACTOR")
    if kind == "lunch":
        if not minutes:
            raise refuse("needs +MINUTES > 0, e.g. lunch:changjiang@60+45")
        return TeamLunch(team=target, at_minute=at, minutes=minutes, reason=reason or "lunch")
    if minutes is not None:
        raise refuse("a parked agent never comes back; drop +MINUTES")
    return AgentParks(agent=target, at_minute=at, reason=reason or "break")


def _num(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".")


def _plus(minutes: float | None) -> str:
    return "" if minutes is None else f"+{_num(minutes)}"
