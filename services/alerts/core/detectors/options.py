"""What every rule carries besides its condition: its name, its severity, its ``group:`` mapping.

``Duration`` marks the fields that hold seconds: a float, that the rules file may write as
``30s``, ``5m``, ``1h`` or ``1m30s`` (``shared/yamltypes.py`` says how it is read).
Shared by the threshold rule (``threshold.py``) and the detector kinds (``base.py``); the alerting
layer reads them (an escalated alert's severity is the next one up; its grouping stage runs what
:class:`Grouping` configures).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, TypeAlias

from ..floor.metrics import SCOPE_KEYS

# A summary travels in every transition (the producer refuses records over 4 MiB): a template whose
# sample renders longer is refused at load, and a longer render (a large value) is cut to this.
SUMMARY_MAX_CHARS: Final = 1000


def bounded(text: str) -> str:
    """``text`` cut to :data:`SUMMARY_MAX_CHARS` (ending in "…" when cut)."""
    return text if len(text) <= SUMMARY_MAX_CHARS else text[: SUMMARY_MAX_CHARS - 1] + "…"


def spec_problem(template: str) -> str:
    """Why ``template`` could render too long whatever its sample gives, checked before rendering
    it: a width or precision over the bound, or a placeholder inside a format spec (known only at
    run time). "" when none; a malformed template is left to the sample render."""
    try:
        fields = [(name, spec) for _, name, spec, _ in string.Formatter().parse(template) if spec]
    except ValueError:
        return ""
    for name, spec in fields:
        if "{" in spec:
            return f"a placeholder inside the format spec of {{{name}:{spec}}}"
        if any(len(digits) > 4 or int(digits) > SUMMARY_MAX_CHARS for digits in re.findall(r"\d+", spec)):
            return f"a width or precision over {SUMMARY_MAX_CHARS} in {{{name}:{spec}}}"
    return ""


class Seconds:
    """The mark of a :data:`Duration` field (``Annotated`` metadata: a float holding seconds)."""


# A field typed Duration holds seconds; the rules file also takes "30s", "5m", "1h", "1m30s" there
# (rules/reader/fields.py reads every field so marked as a duration: no list of names to keep).
Duration: TypeAlias = Annotated[float, Seconds]

SEVERITIES: Final = ("info", "warning", "critical")  # low to high
NAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
BY: Final = ("team", "site")
_PLACEHOLDERS: Final = ("count", "min", "rule", "site", "team")


def basic_problems(
    name: str, severity: str, scope: str, matchers: tuple[tuple[str, str], ...]
) -> list[tuple[str, str]]:
    """What every rule kind checks alike, as ``(yaml key, message)``: a name an alert can carry, a
    known severity, matchers on keys the scope has."""
    out: list[tuple[str, str]] = []
    if not NAME_RE.match(name):
        out.append(("name", f"bad rule name {name!r}: use letters, digits, - _ . : (max 64)"))
    if severity not in SEVERITIES:
        out.append(("severity", f"unknown severity {severity!r}; known: {', '.join(SEVERITIES)}"))
    allowed = SCOPE_KEYS.get(scope, ())
    for key, _ in matchers:
        if key not in allowed:
            out.append(("match", f"cannot match on {key!r} for scope {scope}; allowed: {', '.join(allowed)}"))
    return out


# the catalogue's group texts a grouping may name as ``message`` (shared/i18n, alert.group.<name>)
GROUP_MESSAGES: Final = ("agent-efficiency", "not-ready-too-long")


@dataclass(frozen=True, slots=True)
class Grouping:
    """A rule's ``group:`` mapping: many alerts of one agent rule on one team become one team
    alert (the grouping stage of the alerting layer says how). ``summary`` placeholders:
    ``{count} {min} {rule} {site} {team}``."""

    by: Literal["team", "site"] = "team"
    min: int = 3
    clear: int | None = None
    summary: str = ""
    # texts from the message catalogue (``alert.group.<message>``, shared/i18n) instead of ``summary``
    message: str = ""

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(msg for _, msg in problems))

    @property
    def clear_at(self) -> int:
        return self.min - 1 if self.clear is None else self.clear

    def problems(self, scope: str = "agent") -> list[tuple[str, str]]:
        """Every problem as ``("group", message)`` for a rule of scope ``scope``."""
        out: list[str] = []
        if scope != "agent":
            out.append(f"group works on rules of scope agent, not {scope}")
        if self.by not in BY:
            out.append(f"group by {self.by!r}: use {' or '.join(BY)}")
        if isinstance(self.min, bool) or not isinstance(self.min, int) or self.min < 2:
            out.append("group min must be a whole number >= 2")
        elif self.clear is not None and (
            isinstance(self.clear, bool) or not isinstance(self.clear, int) or not 1 <= self.clear <= self.min
        ):
            out.append("group clear must be a whole number from 1 to min")
        if self.message and self.message not in GROUP_MESSAGES:
            out.append(f"unknown group message {self.message!r}; known: {', '.join(GROUP_MESSAGES)}")
        if self.summary:
            problem = spec_problem(self.summary)
            if problem:
                out.append(f"group summary too long: {problem}")
            else:
                try:
                    sample = self._fill(1, "r", "s", "t")
                except (KeyError, ValueError, IndexError, AttributeError, TypeError) as exc:
                    out.append(f"bad group summary ({exc!r}); placeholders: {', '.join(_PLACEHOLDERS)}")
                else:
                    if len(sample) > SUMMARY_MAX_CHARS:
                        out.append(f"group summary too long: {len(sample)} characters "
                                   f"(max {SUMMARY_MAX_CHARS})")
        return [("group", msg) for msg in out]

    def render(self, count: int, rule: str, site: str, team: str) -> str:
        return bounded(self._fill(count, rule, site, team))

    def _fill(self, count: int, rule: str, site: str, team: str) -> str:
        default = "{count} agents of team {team}: {rule}" if self.by == "team" else "{count} agents: {rule}"
        values = {"count": count, "min": self.min, "rule": rule, "site": site, "team": team}
        return (self.summary or default).format_map(values)

    def said(self, count: int, rule: str, site: str, team: str) -> dict[str, Any]:
        """The group alert's ``message`` (shared/i18n): a rules file's own ``summary`` for every
        language, else the catalogue's text (a shipped grouping's, or the generic one)."""
        params = {"count": count, "min": self.min, "rule": rule, "site": site, "team": team}
        key = f"alert.group.{self.message or self.by}"
        if self.summary and not self.message:
            text = self.render(count, rule, site, team)
            return {"key": key, "params": params, "text": {"zh": text, "en": text}}
        return {"key": key, "params": params}
