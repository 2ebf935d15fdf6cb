"""The default rule set, active when no rules file is given.

Per queue (thresholds are common call-center practice; tune them in a rules file):

* ``calls-waiting``: warning when more than 10 calls wait for 30 s; resolves at 5 or fewer.
* ``longest-wait``: warning when the oldest waiting call passes 90 s; resolves at 60 s or less.
* ``longest-wait-critical``: critical when it passes 180 s; resolves at 120 s or less.
* ``service-level``: warning when fewer than 80 % of calls are answered within the SL threshold
  (20 s) over the window, with at least 20 calls behind the figure, for 60 s; resolves at 85 %.
* ``abandon-rate``: warning when more than 10 % of (non-short) calls are abandoned over the
  window, with at least 20 calls, for 60 s; resolves at 7 %.
* ``no-agents-available``: critical when calls wait and no serving agent is available for 30 s.
"""

from __future__ import annotations

from .rules import Guard, RuleSet, ThresholdRule


def default_rules() -> RuleSet:
    """A fresh copy of the default rules (see the module docstring)."""
    return RuleSet(
        source="<defaults>",
        rules=(
            ThresholdRule(
                name="calls-waiting",
                metric="calls_waiting",
                op=">",
                value=10,
                clear=5,
                for_s=30,
                summary="{queue}: {value:.0f} calls waiting (> {threshold:.0f})",
            ),
            ThresholdRule(
                name="longest-wait",
                metric="longest_wait_s",
                op=">",
                value=90,
                clear=60,
                summary="{queue}: oldest call waiting {value:.0f} s (> {threshold:.0f} s)",
            ),
            ThresholdRule(
                name="longest-wait-critical",
                metric="longest_wait_s",
                op=">",
                value=180,
                clear=120,
                severity="critical",
                summary="{queue}: oldest call waiting {value:.0f} s (> {threshold:.0f} s)",
            ),
            ThresholdRule(
                name="service-level",
                metric="service_level",
                op="<",
                value=0.8,
                clear=0.85,
                for_s=60,
                min_sample=20,
                summary="{queue}: service level {value:.0%} (< {threshold:.0%})",
            ),
            ThresholdRule(
                name="abandon-rate",
                metric="abandon_rate",
                op=">",
                value=0.1,
                clear=0.07,
                for_s=60,
                min_sample=20,
                summary="{queue}: abandon rate {value:.0%} (> {threshold:.0%})",
            ),
            ThresholdRule(
                name="no-agents-available",
                metric="agents_available",
                op="<=",
                value=0,
                for_s=30,
                severity="critical",
                when=(Guard("calls_waiting", ">", 0),),
                summary="{queue}: calls waiting and no agent available",
            ),
        ),
    )
