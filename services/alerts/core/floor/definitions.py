"""What each floor figure means: every counting choice in one frozen value, with vendor presets.

A call-center figure is only as good as its definition: "service level" is three different numbers
in Asterisk, Amazon Connect and Genesys Cloud on the same calls. :class:`Definitions` states every
choice the floor makes, so a figure can be reproduced from the raw data and signed; ``PRESETS``
name the vendors' own choices (``docs/metrics.md`` gives each formula and where the vendor writes
it down). :class:`DefinitionSet` holds one site-wide value per site with per-queue overrides, the
way the rules file's ``definitions:`` section spells it.

Pure: no I/O, no clock. Time zones are kept as IANA names; resolving them is the reader's job.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, get_args

SlFormula = Literal["answered", "offered", "answered+abandoned", "answered+abandoned-short"]
AbandonScope = Literal["caller", "all"]
Unqueued = Literal["exclude", "include"]
Component = Literal["talk", "hold", "wrap"]

SL_FORMULAS: Final[tuple[str, ...]] = get_args(SlFormula)
ABANDON_SCOPES: Final[tuple[str, ...]] = get_args(AbandonScope)
UNQUEUED: Final[tuple[str, ...]] = get_args(Unqueued)
COMPONENTS: Final[tuple[str, ...]] = get_args(Component)
DAY_S: Final = 86_400


class DefinitionsError(ValueError):
    """A definition that cannot be used; the message names the field and what it accepts."""


@dataclass(frozen=True, slots=True)
class Definitions:
    """Every counting choice behind the floor's figures. The defaults are Floorwatch's own
    (preset ``floorwatch``); see ``docs/metrics.md`` for each field.

    * ``sl_threshold_s`` — a call answered after waiting at most this long (``<=``) is "within".
    * ``sl_formula`` — the service level's denominator: ``answered`` (Asterisk), ``offered``
      (Amazon Connect), ``answered+abandoned``, ``answered+abandoned-short`` (Genesys Cloud with
      short abandons excluded; Floorwatch's default). The numerator is always answered within.
    * ``short_abandon_s`` — an abandon after a wait shorter than this (``<``) is a short abandon;
      0 disables short abandons.
    * ``abandoned`` — ``caller``: only a caller's hang-up (and an unknown cause) is an abandon;
      ``all``: also the queue's own exits (timeout, empty queue, key press), as Asterisk counts them.
      A queue exit that is not an abandon is counted as ``exited``.
    * ``unqueued`` — a call answered in a queue it was never seen waiting in, with no wait stated
      (or wait 0), went straight to an agent: ``exclude`` keeps it out of offered / answered /
      service level / ASA and counts it as ``unqueued``; ``include`` counts it as offered and
      answered at 0 s. Its handle time counts either way.
    * ``aht_components`` — which of talk, hold and wrap-up make the handle time.
    * ``outbound_busy`` — whether agents' outbound talk counts as busy time for occupancy (it only
      matters for feeds that report outbound legs).
    * ``day_start_s`` — when the business day starts, in seconds after local midnight.
    * ``time_zone`` — IANA zone of the business day; ``None`` = the UTC offset the events carry.
    * ``interval_s`` — length of the report intervals (e.g. 1800 = half hours); divides a day.
    """

    sl_threshold_s: float = 20.0
    sl_formula: SlFormula = "answered+abandoned-short"
    short_abandon_s: float = 5.0
    abandoned: AbandonScope = "all"
    unqueued: Unqueued = "exclude"
    aht_components: tuple[Component, ...] = ("talk", "hold", "wrap")
    outbound_busy: bool = True
    day_start_s: int = 0
    time_zone: str | None = None
    interval_s: int = 1800

    def __post_init__(self) -> None:
        _non_negative("sl_threshold_s", self.sl_threshold_s)
        _non_negative("short_abandon_s", self.short_abandon_s)
        _one_of("sl_formula", self.sl_formula, SL_FORMULAS)
        _one_of("abandoned", self.abandoned, ABANDON_SCOPES)
        _one_of("unqueued", self.unqueued, UNQUEUED)
        comps = self.aht_components
        if not isinstance(comps, tuple) or not comps:
            raise DefinitionsError("aht_components: a non-empty list of talk, hold, wrap")
        for c in comps:
            _one_of("aht_components", c, COMPONENTS)
        if len(set(comps)) != len(comps):
            raise DefinitionsError(f"aht_components: {list(comps)} names a component twice")
        if not isinstance(self.outbound_busy, bool):
            raise DefinitionsError("outbound_busy: true or false")
        if not isinstance(self.day_start_s, int) or not 0 <= self.day_start_s < DAY_S:
            raise DefinitionsError(
                f"day_start_s: seconds after midnight in [0, 86400), got {self.day_start_s!r}"
            )
        if self.time_zone is not None and (not isinstance(self.time_zone, str) or not self.time_zone):
            raise DefinitionsError("time_zone: an IANA zone name such as Europe/Paris, or null")
        iv = self.interval_s
        if not isinstance(iv, int) or iv < 60 or iv % 60 or DAY_S % iv:
            raise DefinitionsError(
                f"interval_s: whole minutes that divide a day (e.g. 900, 1800, 3600), got {iv!r}"
            )

    def replace(self, **changes: object) -> Definitions:
        """A copy with ``changes`` applied (validated like a new value)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    # --- the counting choices, as the reducer and the reports apply them -------------------------

    def within(self, wait_s: float) -> bool:
        """Whether an answer after ``wait_s`` meets the service-level threshold."""
        return wait_s <= self.sl_threshold_s

    def is_short(self, wait_s: float | None) -> bool:
        """Whether an abandon after ``wait_s`` (None = unknown) is a short abandon."""
        return wait_s is not None and wait_s < self.short_abandon_s

    def counts_as_abandon(self, cause: str | None) -> bool:
        """Whether a queue exit with ``cause`` (None = not stated) is an abandon."""
        return self.abandoned == "all" or cause in (None, "caller")

    def sl_denominator(self, offered: float, answered: float, abandoned: float, short: float) -> float:
        """The service level's denominator under ``sl_formula``."""
        f = self.sl_formula
        if f == "answered":
            return answered
        if f == "offered":
            return offered
        if f == "answered+abandoned":
            return answered + abandoned
        return answered + abandoned - short

    def service_level(
        self, within: float, offered: float, answered: float, abandoned: float, short: float
    ) -> float | None:
        """Answered within ÷ the formula's denominator; None when that is 0."""
        denom = self.sl_denominator(offered, answered, abandoned, short)
        return within / denom if denom > 0 else None

    def handle_s(self, talk: float, hold: float, wrap: float) -> float:
        """The handle time of one call: the sum of ``aht_components``."""
        parts = {"talk": talk, "hold": hold, "wrap": wrap}
        return sum(parts[c] for c in self.aht_components)

    def as_dict(self) -> dict[str, object]:
        """The definitions as plain JSON-able values (what ``floorwatch stats`` prints beside the
        figures, and what the rules file's ``definitions:`` section reads)."""
        out = dataclasses.asdict(self)
        out["aht_components"] = list(self.aht_components)
        return out


def _non_negative(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise DefinitionsError(f"{name}: a number of seconds >= 0, got {value!r}")


def _one_of(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise DefinitionsError(f"{name}: one of {', '.join(allowed)}; got {value!r}")


DEFAULT: Final = Definitions()

PRESETS: Final[Mapping[str, Definitions]] = {
    # Floorwatch's own defaults: Genesys-style service level with short abandons left out.
    "floorwatch": DEFAULT,
    # app_queue.c: ServicelevelPerf = completed within servicelevel / completed; record_abandoned()
    # also runs for EXITWITHTIMEOUT and leave-when-empty exits; no short abandons; the queue's
    # statistics know talk time only (TalkTime), no hold or wrap-up.
    "asterisk": Definitions(
        sl_formula="answered", short_abandon_s=0.0, abandoned="all", aht_components=("talk",)
    ),
    # Amazon Connect "Service level X": answered within X / contacts queued; an abandon is a
    # customer disconnect while queued; handle time = talk + customer hold + after contact work.
    "amazon-connect": Definitions(sl_formula="offered", short_abandon_s=0.0, abandoned="caller"),
    # Genesys Cloud: answered within target / (answered + abandoned), with the analytics options
    # "Include Abandons" and "Include Short Abandons" on; the short-abandon threshold is the
    # organisation's own setting (kept at Floorwatch's 5 s: it only splits the abandon count here);
    # an abandon is a customer disconnect before answer; tHandle = talk + held + ACW.
    "genesys": Definitions(sl_formula="answered+abandoned", abandoned="caller"),
}


def preset(name: str) -> Definitions:
    """The named preset; :class:`DefinitionsError` naming the known ones otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise DefinitionsError(f"preset: one of {', '.join(PRESETS)}; got {name!r}") from None


@dataclass(frozen=True, slots=True)
class DefinitionSet:
    """Definitions in force: a default, per-site values, per-(site, queue) overrides.

    ``for_queue`` is what the reducer asks for a queue's calls; ``for_site`` for site totals and
    agent figures (the business day, occupancy). A site value replaces the default whole; a queue
    override replaces its site's value whole (build it from the site's with ``replace``).
    """

    default: Definitions = DEFAULT
    sites: Mapping[str, Definitions] = field(default_factory=dict)
    queues: Mapping[str, Mapping[str, Definitions]] = field(default_factory=dict)  # site -> queue ->
    # site -> its readers' default language (zh | en; issue 15): not a counting choice, so kept
    # out of Definitions (and of the floor snapshots); read by the API, reports and notifier
    languages: Mapping[str, str] = field(default_factory=dict)

    def language_of(self, site: str | None) -> str | None:
        """The language a site declares (``definitions.sites.<site>.language``), else None."""
        return None if site is None else self.languages.get(site)

    def for_site(self, site: str) -> Definitions:
        return self.sites.get(site, self.default)

    def for_queue(self, site: str, queue: str | None) -> Definitions:
        if queue is not None and self.queues:
            d = self.queues.get(site, {}).get(queue)
            if d is not None:
                return d
        return self.sites.get(site, self.default)

    def with_zone(self, zone: str | None) -> DefinitionSet:
        """Every value with ``time_zone`` replaced (``floorwatch stats --tz``)."""
        return DefinitionSet(
            default=self.default.replace(time_zone=zone),
            sites={k: v.replace(time_zone=zone) for k, v in self.sites.items()},
            queues={
                s: {q: v.replace(time_zone=zone) for q, v in qs.items()} for s, qs in self.queues.items()
            },
            languages=self.languages,
        )

    @property
    def uniform(self) -> bool:
        """True when one value applies everywhere (the reducer's fast path)."""
        return not self.sites and not self.queues
