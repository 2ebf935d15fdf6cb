"""What the simulated floor looks like: queues, teams, projects, the intraday profile.

All frozen dataclasses with defaults that describe a believable inbound telemarketing floor in
Beijing (site ``bj-01``, four teams named after rivers and a mountain, three queues, three
projects). Times inside a day are *minutes since the floor opened*: minute 0 of the generator is
the opening of day 0 (08:00 on the floor clock with the default profile), and days follow each
other every ``open_min + closed_min`` minutes.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from floorwatch.sim.incidents import Incident

# (minute since opening, relative arrival level); linear in between. 08:00 opening, morning ramp,
# lunch dip 12:00-13:30, afternoon peak around 15:00, evening tail to 20:00.
DEFAULT_PROFILE: tuple[tuple[float, float], ...] = (
    (0, 0.30),
    (60, 0.55),
    (120, 0.80),
    (150, 0.85),
    (210, 0.80),
    (240, 0.65),
    (330, 0.65),
    (360, 0.85),
    (420, 1.00),
    (480, 0.95),
    (540, 0.60),
    (600, 0.35),
    (660, 0.25),
    (720, 0.20),
)


@dataclass(frozen=True)
class QueueConfig:
    """One ACD queue. Durations are means in seconds; ``*_cv`` are coefficients of variation
    of the lognormal they are drawn from."""

    name: str
    share: float  # relative weight of this queue in the floor's arrivals
    talk_s: float = 270.0
    talk_cv: float = 0.6
    wrap_s: float = 45.0
    wrap_cv: float = 0.5
    patience_s: float = 120.0  # caller patience (lognormal mean); waits beyond it abandon
    patience_cv: float = 1.0
    hold_p: float = 0.15  # probability that a call has one hold
    hold_s: float = 40.0
    priority: int | None = None  # higher is served first; None = 0 and not put on call.queued
    campaigns: tuple[tuple[str, float], ...] = ()  # (project, weight); empty = no campaign
    transfer_p: float = 0.0  # probability the agent transfers the call at the end of talk
    transfer_to: str | None = None


@dataclass(frozen=True)
class TeamConfig:
    """A team of ``size`` agents with the same skills and shift (minutes since opening)."""

    name: str
    prefix: str  # agent ids are prefix + number, e.g. cj001
    size: int
    skills: tuple[str, ...]
    shift: tuple[float, float]
    lunch_at: float | None = None  # minute of the day; None = middle of the shift
    title: str = ""


@dataclass(frozen=True)
class ProjectConfig:
    """A campaign: calls carry it on ``call.queued``; wrap-ups report ``success``.

    ``target`` is successes per day; None derives it from the expected volume of the floor
    (see :func:`floorwatch.sim.plans.project_plans`), so an undisturbed floor meets its plan.
    """

    name: str
    conversion: float
    title: str = ""
    target: int | None = None
    window: tuple[float, float] | None = None  # minutes since opening; None = the open day
    success_code: str = "sale"


@dataclass(frozen=True)
class BreakPolicy:
    """Per-agent not-ready periods, placed relative to the agent's shift."""

    break_min: float = 15.0
    lunch_min: float = 45.0
    jitter_min: float = 25.0  # spreads breaks so a team is never all away by accident
    training_p: float = 0.1  # probability an agent has a training session that day
    training_min: float = 30.0
    login_jitter_min: float = 5.0


FAILURE_REASONS: tuple[tuple[str, float], ...] = (
    ("not_interested", 0.5),
    ("too_expensive", 0.2),
    ("call_back", 0.2),
    ("wrong_person", 0.1),
)
SERVICE_OUTCOMES: tuple[tuple[str, float], ...] = (
    ("resolved", 0.8),
    ("follow_up", 0.12),
    ("escalated", 0.08),
)


@dataclass(frozen=True)
class SimConfig:
    """The whole floor. ``scale`` multiplies team sizes and arrival rates together, so a larger
    floor stays as busy as the default one."""

    site: str = "bj-01"
    source: str = "sim"
    queues: tuple[QueueConfig, ...] = ()
    teams: tuple[TeamConfig, ...] = ()
    projects: tuple[ProjectConfig, ...] = ()
    calls_per_hour: float = 240.0  # whole floor at profile level 1.0, before scale
    scale: float = 1.0
    profile: tuple[tuple[float, float], ...] = DEFAULT_PROFILE
    open_min: float = 720.0
    closed_min: float = 0.0  # 0 = the next day opens at once (a live demo never goes dark)
    ring_s: tuple[float, float] = (2.0, 6.0)
    breaks: BreakPolicy = field(default_factory=BreakPolicy)
    incidents: tuple[Incident, ...] = ()

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def day_s(self) -> float:
        return (self.open_min + self.closed_min) * 60.0

    def queue(self, name: str) -> QueueConfig:
        for q in self.queues:
            if q.name == name:
                return q
        raise KeyError(name)

    def team_sizes(self) -> dict[str, int]:
        """Agents per team after ``scale`` (at least one each)."""
        return {t.name: max(1, round(t.size * self.scale)) for t in self.teams}

    def agent_ids(self) -> list[str]:
        sizes = self.team_sizes()
        ids: list[str] = []
        for t in self.teams:
            width = max(3, len(str(sizes[t.name])))
            ids.extend(f"{t.prefix}{i:0{width}d}" for i in range(1, sizes[t.name] + 1))
        return ids

    def replace(self, **changes: object) -> SimConfig:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def default_config(**changes: object) -> SimConfig:
    """The default Beijing floor: 34 agents in four teams, ~240 calls/hour at the 15:00 peak."""
    queues = (
        QueueConfig(
            "sales",
            share=0.55,
            talk_s=240,
            wrap_s=40,
            patience_s=100,
            campaigns=(("kd-upgrade", 0.6), ("xyk-signup", 0.4)),
        ),
        QueueConfig(
            "service",
            share=0.35,
            talk_s=300,
            wrap_s=60,
            patience_s=150,
            hold_p=0.2,
            transfer_p=0.04,
            transfer_to="sales",
        ),
        QueueConfig(
            "vip",
            share=0.10,
            talk_s=360,
            wrap_s=60,
            patience_s=200,
            priority=10,
            campaigns=(("xyk-signup", 0.5), ("vip-retention", 0.5)),
        ),
    )
    teams = (
        TeamConfig("changjiang", "cj", 10, ("sales", "service"), (0, 510), lunch_at=225, title="长江组"),
        TeamConfig("taishan", "ts", 4, ("vip", "sales"), (0, 540), lunch_at=255, title="泰山组"),
        TeamConfig("huanghe", "hh", 10, ("service", "sales"), (60, 600), lunch_at=270, title="黄河组"),
        TeamConfig(
            "zhujiang", "zj", 10, ("sales", "service", "vip"), (210, 720), lunch_at=345, title="珠江组"
        ),
    )
    projects = (
        ProjectConfig("kd-upgrade", conversion=0.25, title="宽带提速"),
        ProjectConfig("xyk-signup", conversion=0.15, title="信用卡办卡"),
        ProjectConfig("vip-retention", conversion=0.40, title="VIP 挽留", success_code="retained"),
    )
    base = SimConfig(queues=queues, teams=teams, projects=projects)
    return base.replace(**changes) if changes else base


def with_queues(config: SimConfig, names: list[str]) -> SimConfig:
    """Keep only the queues ``names`` (unknown names get generic defaults); skills follow.

    Total arrivals stay the same (shares are relative). A team left without a skill serves every
    queue; a queue no team serves is added to every team, so no queue is left unstaffed.
    """
    if not names or len(set(names)) != len(names):
        raise ValueError(f"queue names must be distinct and non-empty, got {names!r}")
    known = {q.name: q for q in config.queues}
    queues = tuple(known.get(n) or QueueConfig(n, share=1.0 / len(names)) for n in names)
    queues = tuple(
        dataclasses.replace(q, transfer_p=0.0, transfer_to=None) if q.transfer_to not in names else q
        for q in queues
    )
    teams = []
    for t in config.teams:
        skills = tuple(s for s in t.skills if s in names) or tuple(names)
        teams.append(dataclasses.replace(t, skills=skills))
    served = {s for t in teams for s in t.skills}
    orphans = tuple(n for n in names if n not in served)
    teams = [dataclasses.replace(t, skills=t.skills + orphans) for t in teams]
    used = {c for q in queues for c, _ in q.campaigns}
    projects = tuple(p for p in config.projects if p.name in used)
    return config.replace(queues=queues, teams=tuple(teams), projects=projects)


def with_agents(config: SimConfig, agents: int) -> SimConfig:
    """Scale the floor to about ``agents`` agents, arrivals in proportion."""
    if agents < 1:
        raise ValueError("agents must be >= 1")
    base = sum(t.size for t in config.teams)
    return config.replace(scale=agents / base)


def _validate(c: SimConfig) -> None:
    if not c.queues or not c.teams:
        return  # an empty config is allowed as a base for replace(); the model rejects it
    names = [q.name for q in c.queues]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate queue names: {names}")
    projects = {p.name for p in c.projects}
    for q in c.queues:
        if q.share < 0 or q.talk_s <= 0 or q.wrap_s < 0 or q.patience_s <= 0:
            raise ValueError(f"queue {q.name}: share, talk_s, wrap_s, patience_s out of range")
        if not 0 <= q.hold_p <= 1 or not 0 <= q.transfer_p <= 1:
            raise ValueError(f"queue {q.name}: probabilities must be within 0..1")
        if q.transfer_p and q.transfer_to not in names:
            raise ValueError(f"queue {q.name}: transfer_to {q.transfer_to!r} is not a queue")
        for project, _ in q.campaigns:
            if project not in projects:
                raise ValueError(f"queue {q.name}: unknown project {project!r}")
    for t in c.teams:
        if not t.skills or any(s not in names for s in t.skills):
            raise ValueError(f"team {t.name}: skills {t.skills} must be known queues")
        if not 0 <= t.shift[0] < t.shift[1] <= c.open_min + c.closed_min:
            raise ValueError(f"team {t.name}: shift {t.shift} must lie within the day")
    if len({t.prefix for t in c.teams}) != len(c.teams):
        raise ValueError("team prefixes must be distinct")
    for p in c.projects:
        if not 0 <= p.conversion <= 1:
            raise ValueError(f"project {p.name}: conversion must be within 0..1")
    if c.scale <= 0 or c.calls_per_hour < 0 or c.open_min <= 0 or c.closed_min < 0:
        raise ValueError("scale, calls_per_hour, open_min, closed_min out of range")
    if not c.profile or c.profile[0][0] != 0 or any(lv < 0 for _, lv in c.profile):
        raise ValueError("profile must start at minute 0 with non-negative levels")
