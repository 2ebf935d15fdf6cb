"""What the reports need to know besides events: per-site calendars and shifts, project targets,
costs, the metric definitions, and who may see what. Frozen values, built by the shell."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .calendar import SiteCalendar
from .definitions import DefinitionSet


@dataclass(frozen=True, slots=True)
class Shift:
    """A named shift of a site: ``start_min`` .. ``end_min`` minutes of the local business day
    (``end_min`` may pass 1440 for a shift that ends after midnight)."""

    name: str
    start_min: int
    end_min: int

    def __post_init__(self) -> None:
        if not (0 <= self.start_min < self.end_min <= 2880):
            raise ValueError(f"shift {self.name!r}: need 0 <= start < end <= 2880 minutes")

    def bounds(self, cal: SiteCalendar, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) in UTC of this shift on local date ``day``."""
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=cal.zone)
        start = (midnight + dt.timedelta(minutes=self.start_min)).astimezone(dt.UTC)
        end = (midnight + dt.timedelta(minutes=self.end_min)).astimezone(dt.UTC)
        return start, end


DEFAULT_SHIFTS = (Shift("day", 8 * 60, 20 * 60), Shift("night", 20 * 60, 32 * 60))


@dataclass(frozen=True, slots=True)
class ProjectTarget:
    """A project's daily target and what its calls carry as ``campaign`` (default: its name);
    ``queues``: the queues whose calls without a campaign count for it; ``success_codes``: the
    outcome codes that count as a success (empty: ``outcome.success: true`` does)."""

    name: str
    target: float
    campaigns: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    site: str | None = None
    end_day: dt.date | None = None
    success_codes: tuple[str, ...] = ()


class ProjectMap:
    """Which project a call counts for and whether a wrap-up is a success, decided as the live
    floor's progress rule decides (``detectors/progress_lag.py``): a call with a campaign belongs
    to the first project of the call's site, else the first project of every site (file order),
    that lists the campaign (a project without ``campaigns`` lists its own name), else to the
    campaign itself; a call without a campaign to the first such project that lists its queue,
    else to none (``""``). The live floor counts a call for every project that matches; a report
    row has one project, so overlapping projects should not be configured for reports."""

    __slots__ = ("_by_campaign", "_by_queue", "_codes")

    def __init__(self, projects: tuple[ProjectTarget, ...] = ()) -> None:
        self._by_campaign: dict[tuple[str | None, str], str] = {}
        self._by_queue: dict[tuple[str | None, str], str] = {}
        self._codes: dict[str, frozenset[str]] = {}
        for p in projects:
            for c in p.campaigns or (p.name,):
                self._by_campaign.setdefault((p.site, c), p.name)
            for q in p.queues:
                self._by_queue.setdefault((p.site, q), p.name)
            if p.success_codes:
                self._codes.setdefault(p.name, frozenset(p.success_codes))

    def project_of(self, site: str, campaign: str | None, queue: str) -> str:
        if campaign:
            return (self._by_campaign.get((site, campaign)) or self._by_campaign.get((None, campaign))
                    or campaign)
        return self._by_queue.get((site, queue)) or self._by_queue.get((None, queue)) or ""

    def verdict(self, project: str, code: str, success: bool | None) -> bool | None:
        """A project with ``success_codes``: the code is listed; else the outcome's own flag."""
        codes = self._codes.get(project)
        return success if codes is None else code in codes


@dataclass(frozen=True, slots=True)
class ReportConfig:
    calendars: Mapping[str, SiteCalendar] = field(default_factory=dict)
    shifts: Mapping[str, tuple[Shift, ...]] = field(default_factory=dict)
    costs: Mapping[str, float] = field(default_factory=dict)  # site -> cost of one logged-in hour
    projects: tuple[ProjectTarget, ...] = ()
    definitions: DefinitionSet = field(default_factory=DefinitionSet)

    def calendar(self, site: str) -> SiteCalendar:
        """The site's business day: the definitions' ``time_zone`` / ``day_start_s`` when the site's
        definitions name a zone, else the report settings' ``tz`` / ``day_start``, else UTC midnight."""
        d = self.definitions.for_site(site)
        if d.time_zone is not None:
            return SiteCalendar(d.time_zone, d.day_start_s // 60)
        return self.calendars.get(site) or SiteCalendar()

    def every_calendar(self) -> list[SiteCalendar]:
        """Every calendar a site may have (report settings, definitions' zones, UTC midnight): what
        a rebuild's read window must cover whichever site an event belongs to."""
        out = [*self.calendars.values(), SiteCalendar()]
        defs = self.definitions
        for d in (defs.default, *defs.sites.values()):
            if d.time_zone is not None:
                out.append(SiteCalendar(d.time_zone, d.day_start_s // 60))
        return out

    def calendar_map(self) -> Mapping[str, SiteCalendar]:
        """Every site's calendar as the fold asks for it (``.get(site)``)."""
        return _Calendars(self)

    def shifts_of(self, site: str) -> tuple[Shift, ...]:
        return self.shifts.get(site) or DEFAULT_SHIFTS

    def targets(self) -> dict[str, float]:
        """project -> daily target (the report rows' ``project`` is the project's name)."""
        out: dict[str, float] = {}
        for p in self.projects:
            out.setdefault(p.name, p.target)
        return out

    def project_map(self) -> ProjectMap:
        return ProjectMap(self.projects)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None, *, projects: tuple[ProjectTarget, ...] = (),
                  definitions: DefinitionSet | None = None) -> ReportConfig:
        """``{"sites": {"bj-01": {"tz": "Asia/Shanghai", "day_start": "06:00", "cost_per_hour": 45,
        "shifts": {"day": ["08:00", "20:00"], "night": ["20:00", "08:00"]}}}}``."""
        data = data or {}
        unknown = set(data) - {"sites"}
        if unknown:
            raise ValueError(f"unknown report settings keys {sorted(unknown)}; allowed: ['sites']")
        calendars: dict[str, SiteCalendar] = {}
        shifts: dict[str, tuple[Shift, ...]] = {}
        costs: dict[str, float] = {}
        for site, spec in (data.get("sites") or {}).items():
            bad = set(spec) - {"tz", "day_start", "cost_per_hour", "shifts"}
            if bad:
                raise ValueError(f"site {site!r}: unknown keys {sorted(bad)}; "
                                 "allowed: tz, day_start, cost_per_hour, shifts")
            calendars[site] = SiteCalendar(spec.get("tz", "UTC"), _minutes(spec.get("day_start", "00:00")))
            if spec.get("cost_per_hour") is not None:
                costs[site] = float(spec["cost_per_hour"])
            if spec.get("shifts"):
                out = []
                for name, (a, b) in spec["shifts"].items():
                    s, e = _minutes(a), _minutes(b)
                    out.append(Shift(name, s, e if e > s else e + 1440))
                shifts[site] = tuple(out)
        return cls(calendars=calendars, shifts=shifts, costs=costs, projects=projects,
                   definitions=definitions or DefinitionSet())


def _minutes(hhmm: str) -> int:
    try:
        h, m = (int(x) for x in str(hhmm).split(":"))
    except ValueError:
        raise ValueError(f"expected HH:MM, got {hhmm!r}") from None
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"expected HH:MM, got {hhmm!r}")
    return h * 60 + m


@dataclass(frozen=True, slots=True)
class Access:
    """Who is asking: each dimension ``None`` (unrestricted) or the names it may see. Rows that do
    not name a restricted dimension (a queue figure has no team, agent time has no queue) are not
    shown to a caller restricted in that dimension."""

    sites: frozenset[str] | None = None
    teams: frozenset[str] | None = None
    queues: frozenset[str] | None = None


class _Calendars(Mapping[str, SiteCalendar]):
    def __init__(self, config: ReportConfig) -> None:
        self._config = config
        self._cache: dict[str, SiteCalendar] = {}

    def __getitem__(self, site: str) -> SiteCalendar:
        cal = self._cache.get(site)
        if cal is None:
            cal = self._cache[site] = self._config.calendar(site)
        return cal

    def __iter__(self) -> Iterator[str]:
        return iter(self._config.calendars)

    def __len__(self) -> int:
        return len(self._config.calendars)
