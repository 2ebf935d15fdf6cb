"""The default rule set, active when no rules file is given.

Per queue (thresholds are common call-center practice; tune them in a rules file):

* ``calls-waiting``: warning when more than 10 calls wait for 30 s; resolves at 5 or fewer.
* ``longest-wait``: warning when the oldest waiting call passes 90 s; resolves at 60 s or less.
* ``longest-wait-critical``: critical when it passes 180 s; resolves at 120 s or less.
* ``service-level``: warning when fewer than 80 % of calls are answered within the SL threshold
  (20 s) over the window, with at least 20 calls behind the figure, for 60 s; resolves at 85 %.
* ``abandon-rate``: warning when more than 10 % of (non-short) calls are abandoned over the
  window, with at least 20 calls, for 60 s; resolves at 7 %.
* ``no-agents-available``: critical when calls wait and no serving agent is available for 60 s.

Resolve holds (``keep_firing_for``, ``lifecycle.py``): a firing alert resolves only after its clear
condition held that long without a break — 60 s for the wait rules and ``calls-waiting`` (the
oldest call answered, the next one already waiting long is the same incident), 2 min for the
windowed ratios and ``no-agents-available`` (on a saturated queue an agent frees up and takes a
call every half minute or so: each would end the alert and the next minute start a new one).
Measured on calm simulated days (``python -m benchmarks.calm_day``, figures in ``docs/rules.md``).

The founding report's four warnings, plus data freshness (no per-floor configuration needed):

* ``aht-spike`` (per queue) and ``aht-spike-team`` (per team): AHT of the last 15 minutes
  +25 % or more above (or 25 % below) the scope's own decaying baseline (half-life 2 h), with
  z >= 3 on log handle times, >= 20 recent calls and >= 60 baseline calls, for 2 min.
* ``occupancy`` (per team): occupancy outside 35 %–95 % over the window with >= 2 staffed hours
  behind it, for 10 min (info).
* ``seats`` (per team): fewer than 30 % of the team's logged-in agents (at least 3) staffed
  (not in not-ready) for 5 min — a whole team at lunch together (staggered lunches leave ~60 %
  of a team away, which is normal).
* ``agent-efficiency`` (per agent): far below team peers (median/MAD: -50 % and 3.5 robust
  deviations) in calls per hour, AHT, unexcused not-ready share or success rate over the last
  2 hours, for 10 min (info).
* ``not-ready-too-long`` (per agent): break > 15 min, lunch > 60 min, training > 45 min, any
  other reason > 30 min; wrap-up > 5 min.
* ``progress-lag`` (per project): successes 15 %, 5 or more and 2 sqrt(planned) behind the plan,
  after the first hour of the window, for 5 min — on for every project of the rules file.
* ``source-silent`` (per event source): no events for 5 min while agents are logged in (critical).

Texts: every summary in Chinese and English, the catalogue's (``shared/i18n/locales``): a
transition's ``message`` names the key, each screen renders it in its reader's language.

Grouping: three or more agents of one team firing ``not-ready-too-long`` (or ``agent-efficiency``)
become one team alert, kept until fewer than two remain (``alerting/grouping.py``).

Detector holds: 5 min for the slow figures (AHT, occupancy, efficiency, progress), 2 min for
``seats``; none for ``not-ready-too-long`` (the agent's state change is the answer) and
``source-silent`` (a hold shorter than ``silent`` could never be broken by a new silence).

Routing: ``no-agents-available`` inhibits the same queue's ``service-level``, ``abandon-rate``
and ``calls-waiting`` alerts, ``longest-wait-critical`` its ``longest-wait``; queue warnings
unacknowledged for 15 min escalate one step (critical ones are only flagged ``escalated``).
"""

from __future__ import annotations

from ..alerting.inhibition import Inhibit
from ..detectors.agent_efficiency import AgentEfficiencyRule
from ..detectors.agent_state import AgentStateRule
from ..detectors.aht_spike import AhtSpikeRule
from ..detectors.base import Detector
from ..detectors.freshness import FreshnessRule
from ..detectors.occupancy import OccupancyRule
from ..detectors.options import Grouping
from ..detectors.progress_lag import ProgressLagRule
from ..detectors.registry import Rule
from ..detectors.seats import SeatsRule
from ..detectors.threshold import Guard, ThresholdRule
from .ruleset import RuleSet

ESCALATE_S = 900.0
_WAIT_CLEARED = "{queue}: cleared, oldest call waiting {value:.0f} s (<= {clear:.0f} s)"


def team_group(what: str, key: str) -> Grouping:
    """Three or more agents of a team with the same alert: one team alert (see alerting/grouping.py);
    ``key`` names its texts in the message catalogue (shared/i18n)."""
    return Grouping(by="team", min=3, summary="{count} agents of team {team} " + what, message=key)


def progress_lag_rule() -> ProgressLagRule:
    """The default progress-lag rule, added to every rules file that configures projects."""
    return ProgressLagRule(
        name="progress-lag", for_s=300, keep_firing_for=300, behind=0.15, behind_abs=5, min_elapsed=3600
    )


def detector_rules() -> tuple[Detector, ...]:
    return (
        AhtSpikeRule(
            name="aht-spike",
            scope="queue",
            rise=0.25,
            fall=0.25,
            direction="both",
            for_s=120,
            keep_firing_for=300,
        ),
        AhtSpikeRule(
            name="aht-spike-team",
            scope="team",
            rise=0.25,
            fall=0.25,
            direction="both",
            for_s=120,
            keep_firing_for=300,
        ),
        OccupancyRule(
            name="occupancy",
            scope="team",
            low=0.35,
            high=0.95,
            min_sample=7200,
            for_s=600,
            keep_firing_for=300,
            severity="info",
        ),
        SeatsRule(
            name="seats", scope="team", min_ready_share=0.3, min_logged_in=3, for_s=300, keep_firing_for=120
        ),
        AgentEfficiencyRule(
            name="agent-efficiency",
            for_s=600,
            keep_firing_for=300,
            severity="info",
            group=team_group("far below their peers", "agent-efficiency"),
        ),
        AgentStateRule(
            name="not-ready-too-long",
            not_ready=(("break", 900.0), ("lunch", 3600.0), ("training", 2700.0), ("*", 1800.0)),
            wrap=300.0,
            group=team_group("too long in not-ready or wrap-up", "not-ready-too-long"),
        ),
        progress_lag_rule(),
        FreshnessRule(name="source-silent", silent=300.0, severity="critical"),
    )


def default_inhibits() -> tuple[Inhibit, ...]:
    same_queue = ("site", "queue")
    return (
        *(
            Inhibit(source=(("rule", "no-agents-available"),), target=(("rule", target),), equal=same_queue)
            for target in ("service-level", "abandon-rate", "calls-waiting")
        ),
        Inhibit(
            source=(("rule", "longest-wait-critical"),), target=(("rule", "longest-wait"),), equal=same_queue
        ),
    )


def default_rules() -> RuleSet:
    """A fresh copy of the default rules (see the module docstring)."""
    rules: tuple[Rule, ...] = (
        ThresholdRule(
            name="calls-waiting",
            message="calls-waiting",
            metric="calls_waiting",
            op=">",
            value=10,
            clear=5,
            for_s=30,
            keep_firing_for=60,
            summary="{queue}: {value:.0f} calls waiting (> {threshold:.0f})",
            resolved_summary="{queue}: cleared, {value:.0f} calls waiting (<= {clear:.0f})",
            escalate_after=ESCALATE_S,
        ),
        ThresholdRule(
            name="longest-wait",
            message="longest-wait",
            metric="longest_wait_s",
            op=">",
            value=90,
            clear=60,
            keep_firing_for=60,
            summary="{queue}: oldest call waiting {value:.0f} s (> {threshold:.0f} s)",
            resolved_summary=_WAIT_CLEARED,
            escalate_after=ESCALATE_S,
        ),
        ThresholdRule(
            name="longest-wait-critical",
            message="longest-wait",
            metric="longest_wait_s",
            op=">",
            value=180,
            clear=120,
            keep_firing_for=60,
            severity="critical",
            summary="{queue}: oldest call waiting {value:.0f} s (> {threshold:.0f} s)",
            resolved_summary=_WAIT_CLEARED,
            escalate_after=ESCALATE_S,
        ),
        ThresholdRule(
            name="service-level",
            message="service-level",
            metric="service_level",
            op="<",
            value=0.8,
            clear=0.85,
            for_s=60,
            keep_firing_for=120,
            min_sample=20,
            summary="{queue}: service level {value:.0%} (< {threshold:.0%})",
            resolved_summary="{queue}: cleared, service level {value:.0%} (>= {clear:.0%})",
            escalate_after=ESCALATE_S,
        ),
        ThresholdRule(
            name="abandon-rate",
            message="abandon-rate",
            metric="abandon_rate",
            op=">",
            value=0.1,
            clear=0.07,
            for_s=60,
            keep_firing_for=120,
            min_sample=20,
            summary="{queue}: abandon rate {value:.0%} (> {threshold:.0%})",
            resolved_summary="{queue}: cleared, abandon rate {value:.0%} (<= {clear:.0%})",
            escalate_after=ESCALATE_S,
        ),
        ThresholdRule(
            name="no-agents-available",
            message="no-agents-available",
            metric="agents_available",
            op="<=",
            value=0,
            for_s=60,
            keep_firing_for=120,
            severity="critical",
            when=(Guard("calls_waiting", ">", 0),),
            summary="{queue}: calls waiting and no agent available",
            resolved_summary="{queue}: cleared, {value:.0f} agent(s) available",
            escalate_after=ESCALATE_S,
        ),
    )
    return RuleSet(source="<defaults>", rules=rules + detector_rules(), inhibit=default_inhibits())
