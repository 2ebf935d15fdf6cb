"""The threshold rule: one live metric of one scope against a threshold, with hysteresis.

A :class:`ThresholdRule` compares one live metric of one scope kind with a threshold:
``metric op value`` (``op`` in ``> >= < <=``) must hold, plus every ``when`` guard on the same
scope, with at least ``min_sample`` evidence behind the metric (see ``floor/metrics.py`` for the unit
per metric). Then the alert goes pending, and fires once that held for ``for_s`` seconds.

Hysteresis: a *firing* alert stays firing while ``metric op clear`` holds (and the guards and
sample still do), and resolves when it stops — so ``calls_waiting > 10, clear 5`` fires above 10
and resolves at 5 or fewer; with ``keep_firing_for`` only once that stopped for so long without a
break (the resolve hold, ``lifecycle.py``). ``clear`` defaults to ``value`` and must not be on the
firing side of it. Pending uses the entry threshold: ``for_s`` is counted over an unbroken
breach of ``value``. A metric with no value (no data, scope gone) satisfies no condition:
pending drops, firing resolves — like a Prometheus series that disappears.

Call order: construct (raises ``ValueError`` listing every problem), then ``matches(...)`` to
pick scopes, ``condition(read, firing=...)`` to evaluate, ``build(state)`` for the per-scope
machine, ``render(...)`` for the summary text; on a resolution ``cleared(...)`` says what stopped holding
and ``render_resolved(...)`` words it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Literal

from ..floor.metrics import METRICS, SCOPE_KEYS, Reader, Reading
from ..floor.state import SiteFloor
from ..lifecycle import AlertState, ThresholdAlert
from .options import SUMMARY_MAX_CHARS, Duration, Grouping, basic_problems, bounded, spec_problem

Op = Literal[">", ">=", "<", "<="]
# A summary template: one for every language, or ``(language, template)`` pairs (``summary: {zh: ..,
# en: ..}`` in a rules file). A reader's screen shows its language's; the wire ``summary`` the English.
Text = str | tuple[tuple[str, str], ...]
LANGUAGES: Final = ("zh", "en")
# the catalogue's threshold texts a rule may name as ``message`` (shared/i18n/locales, alert.<name>.*)
THRESHOLD_MESSAGES: Final = (
    "calls-waiting",
    "longest-wait",
    "service-level",
    "abandon-rate",
    "no-agents-available",
)
Severity = Literal["info", "warning", "critical"]
ScopeKind = Literal["queue", "team", "site", "agent"]
OPS: Final[dict[str, Callable[[float, float], bool]]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
NOT_OP: Final[dict[str, str]] = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}
_TEMPLATE_KEYS: Final = (
    "rule",
    "metric",
    "op",
    "value",
    "threshold",
    "clear",
    "severity",
    "reason",
    "site",
    "queue",
    "team",
    "agent",
)


@dataclass(frozen=True, slots=True)
class Guard:
    """An extra condition on another metric of the same scope, e.g. ``calls_waiting > 0``."""

    metric: str
    op: Op
    value: float


@dataclass(frozen=True, slots=True)
class ThresholdRule:
    """A classic threshold rule; see the module docstring. Fields mirror the YAML keys."""

    kind: ClassVar[str] = "threshold"

    name: str
    metric: str
    op: Op
    value: float
    scope: ScopeKind = "queue"
    clear: float | None = None
    for_s: Duration = 0.0
    severity: Severity = "warning"
    matchers: tuple[tuple[str, str], ...] = ()
    when: tuple[Guard, ...] = ()
    min_sample: float = 0.0
    summary: Text = ""
    labels: tuple[tuple[str, str], ...] = ()
    escalate_after: Duration | None = None
    group: Grouping | None = None  # many agents' alerts -> one team alert (alerting/grouping.py)
    keep_firing_for: Duration = 0.0
    resolved_summary: Text = ""
    # texts from the message catalogue (shared/i18n/locales): ``alert.<message>.firing`` /
    # ``.resolved`` in every language, instead of the rule's own summary (the shipped rules' way)
    message: str = ""
    family: int = field(init=False, repr=False, compare=False, default=0)
    timings: frozenset[str] = field(init=False, repr=False, compare=False, default=frozenset())
    # the metric and guard readers resolved per scope kind once (hot path: no catalogue lookups)
    readers: dict[str, tuple[Reader, tuple[tuple[Reader, Callable[[float, float], bool], float], ...]]] = (
        field(init=False, repr=False, compare=False, default_factory=dict)
    )

    def __post_init__(self) -> None:
        problems = self.problems() + (self.group.problems(self.scope) if self.group is not None else [])
        if problems:
            raise ValueError(f"rule {self.name!r}: " + "; ".join(msg for _, msg in problems))
        metrics = [METRICS[self.metric]] + [METRICS[g.metric] for g in self.when]
        family = 0
        for m in metrics:
            family |= m.family
        object.__setattr__(self, "family", family)
        object.__setattr__(self, "timings", frozenset(m.timing for m in metrics))
        main = METRICS[self.metric].readers
        for kind, reader in main.items():
            if all(kind in METRICS[g.metric].readers for g in self.when):
                guards = tuple((METRICS[g.metric].readers[kind], OPS[g.op], g.value) for g in self.when)
                self.readers[kind] = (reader, guards)

    def check(
        self, s: SiteFloor, kind: str, name: str, now: float, firing: bool
    ) -> tuple[bool, float | None]:
        """:meth:`condition` for scope ``(kind, name)`` of site ``s`` at ``now``, read directly."""
        reader, guards = self.readers[kind]
        value, sample = reader(s, name, now)
        if value is None or sample < self.min_sample:
            return False, value
        if not OPS[self.op](value, self.clear_at if firing else self.value):
            return False, value
        for g_reader, g_op, g_value in guards:
            other, _ = g_reader(s, name, now)
            if other is None or not g_op(other, g_value):
                return False, value
        return True, value

    def problems(self) -> list[tuple[str, str]]:
        """Every problem as ``(yaml key, message)``; empty when the rule is valid."""
        return rule_problems(
            name=self.name,
            metric=self.metric,
            op=self.op,
            value=self.value,
            scope=self.scope,
            clear=self.clear,
            for_s=self.for_s,
            severity=self.severity,
            matchers=self.matchers,
            when=self.when,
            min_sample=self.min_sample,
            summary=self.summary,
            keep_firing_for=self.keep_firing_for,
            resolved_summary=self.resolved_summary,
            message=self.message,
        )

    @property
    def clear_at(self) -> float:
        return self.value if self.clear is None else self.clear

    def matches(self, scope: Mapping[str, str]) -> bool:
        return all(scope.get(k) == v for k, v in self.matchers)

    def condition(self, read: Callable[[str], Reading], *, firing: bool) -> tuple[bool, float | None]:
        """(condition holds, metric value); ``read(metric)`` reads the scope at the evaluation time."""
        value, sample = read(self.metric)
        if value is None or sample < self.min_sample:
            return False, value
        if not OPS[self.op](value, self.clear_at if firing else self.value):
            return False, value
        for g in self.when:
            other, _ = read(g.metric)
            if other is None or not OPS[g.op](other, g.value):
                return False, value
        return True, value

    def build(self, state: AlertState) -> ThresholdAlert:
        """The per-scope state machine (see ``lifecycle.py``) for ``state``."""
        return ThresholdAlert(self.for_s, state, self.keep_firing_for)

    def cleared(self, s: SiteFloor, kind: str, name: str, now: float, *, fired: bool) -> dict[str, Any]:
        """Why the condition no longer holds for scope ``(kind, name)`` at ``now``: ``cleared_by``
        (``metric``, ``when``, ``min_sample``, ``no_data``) and ``reason``, a short text. A fired
        alert is measured against ``clear``, a pending one against ``value`` (as in ``check``)."""
        reader, guards = self.readers[kind]
        value, sample = reader(s, name, now)
        if value is None:
            return {"cleared_by": "no_data", "reason": f"no {self.metric} data"}
        if sample < self.min_sample:
            return {
                "cleared_by": "min_sample",
                "reason": f"sample {_num(sample)} < min_sample {_num(self.min_sample)}",
            }
        bound = self.clear_at if fired else self.value
        if not OPS[self.op](value, bound):
            tail = " (clear)" if fired and bound != self.value else ""
            reason = f"{self.metric} {_num(value)} {NOT_OP[self.op]} {_num(bound)}{tail}"
            return {"cleared_by": "metric", "reason": reason}
        for g, (g_reader, g_op, g_value) in zip(self.when, guards, strict=True):
            other, _ = g_reader(s, name, now)
            if other is None or not g_op(other, g_value):
                shown = "no data" if other is None else f"{_num(other)} {NOT_OP[g.op]} {_num(g_value)}"
                return {"cleared_by": "when", "reason": f"{g.metric} {shown}"}
        return {"cleared_by": "metric", "reason": f"{self.metric} {_num(value)}"}  # pragma: no cover

    def render(self, value: float | None, scope: Mapping[str, str]) -> str:
        """The summary text for ``value`` in ``scope``."""
        if value is None:
            return f"{self.name}: no data"
        return _render(wire_text(self.summary), scope, **self._fields(value))

    def said(self, value: float | None, scope: Mapping[str, str]) -> dict[str, Any]:
        """The transition's ``message`` (``{key, params}``, ``text`` per language for a rules
        file's own template) for ``value`` in ``scope``; see shared/i18n/render.py."""
        params = {**_scope_params(scope), **({} if value is None else self._fields(value))}
        if value is None:
            return {"key": "alert.no_data", "params": params}
        out: dict[str, Any] = {"key": f"alert.{self.message or 'threshold'}.firing", "params": params}
        text = _texts(self.summary, scope, self._fields(value), own=not self.message)
        if text:
            out["text"] = text
        return out

    def said_resolved(
        self, value: float | None, scope: Mapping[str, str], cleared: Mapping[str, Any], *, fired: bool
    ) -> dict[str, Any]:
        """The ``message`` of a resolution, as :meth:`render_resolved` words it."""
        by = str(cleared.get("cleared_by") or "replaced")
        params: dict[str, Any] = {**_scope_params(scope), "cleared_by": by, "fired": fired}
        if fired and value is not None and (self.resolved_summary or self.message) and by == "metric":
            fields = {**self._fields(value), "reason": str(cleared.get("reason") or "")}
            params.update(self._fields(value))
            out: dict[str, Any] = {
                "key": f"alert.{self.message or 'threshold'}.resolved",
                "params": params,
            }
            text = _texts(self.resolved_summary, scope, fields, own=not self.message)
            if text:
                out["text"] = text
            return out
        return {"key": "alert.cleared" if fired else "alert.cleared_before_firing", "params": params}

    def _fields(self, value: float) -> dict[str, Any]:
        """What a summary template may name besides the scope (docs/rules.md)."""
        return {
            "rule": self.name,
            "metric": self.metric,
            "op": self.op,
            "value": value,
            "threshold": self.value,
            "clear": self.clear_at,
            "severity": self.severity,
        }

    def render_resolved(
        self, value: float | None, scope: Mapping[str, str], cleared: Mapping[str, Any], *, fired: bool
    ) -> str:
        """The summary of a resolution: ``resolved_summary`` when a fired alert's metric went back
        within ``clear``, else ``"<scope>: cleared: <reason>"`` (see :meth:`cleared`)."""
        reason = str(cleared.get("reason") or "rule replaced")
        if fired and value is not None and self.resolved_summary and cleared.get("cleared_by") == "metric":
            return _render(wire_text(self.resolved_summary), scope, **self._fields(value), reason=reason)
        label = next((v for k, v in scope.items() if k != "site"), scope.get("site", ""))
        return f"{label}: cleared{'' if fired else ' before firing'}: {reason}"


def wire_text(text: Text) -> str:
    """The template of the wire ``summary``: the English one (else the first) of a per-language text."""
    if isinstance(text, str):
        return text
    return dict(text).get("en") or (text[0][1] if text else "")


def _scope_params(scope: Mapping[str, str]) -> dict[str, Any]:
    label = next((v for k, v in scope.items() if k != "site"), scope.get("site", ""))
    return {**dict.fromkeys(("site", "queue", "team", "agent"), ""), **scope, "scope_name": label}


def _texts(text: Text, scope: Mapping[str, str], fields: Mapping[str, Any], *, own: bool) -> dict[str, str]:
    """A rule's own template rendered per language: a plain one for every language (when the rule
    has no catalogue message), per-language ones for theirs; the others use the catalogue."""
    if isinstance(text, str):
        return {lang: _render(text, scope, **fields) for lang in LANGUAGES} if text and own else {}
    return {lang: _render(t, scope, **fields) for lang, t in text}


def _render(template: str, scope: Mapping[str, str], **data: Any) -> str:
    """The template filled in, cut to :data:`SUMMARY_MAX_CHARS` (ending in "…" when cut)."""
    return bounded(_fill(template, scope, **data))


def _fill(template: str, scope: Mapping[str, str], **data: Any) -> str:
    values: dict[str, Any] = dict.fromkeys(("site", "queue", "team", "agent"), "")
    values.update(scope)
    values.update(data)
    values.setdefault("reason", "")
    return (template or "{metric} {value:g} {op} {threshold:g}").format_map(values)


def _num(x: float) -> str:
    """A figure for a sentence: whole numbers and large ones without decimals, others 3 digits."""
    if not math.isfinite(x):
        return str(x)
    return f"{x:.0f}" if x == int(x) or abs(x) >= 100 else f"{x:.3g}"


def rule_problems(
    *,
    name: str,
    metric: str,
    op: str,
    value: float,
    scope: str = "queue",
    clear: float | None = None,
    for_s: float = 0.0,
    severity: str = "warning",
    matchers: tuple[tuple[str, str], ...] = (),
    when: tuple[Guard, ...] = (),
    min_sample: float = 0.0,
    summary: Text = "",
    keep_firing_for: float = 0.0,
    resolved_summary: Text = "",
    message: str = "",
) -> list[tuple[str, str]]:
    """Every problem of a would-be :class:`ThresholdRule` as ``(yaml key, message)``."""
    out = basic_problems(name, severity, scope, matchers)
    if scope not in SCOPE_KEYS:
        out.append(("scope", f"unknown scope {scope!r}; known: {', '.join(SCOPE_KEYS)}"))
    out += _metric_problems("metric", metric, scope)
    out += _op_problems("op", op)
    numbers = (
        ("value", value),
        ("clear", clear),
        ("for", for_s),
        ("min_sample", min_sample),
        ("keep_firing_for", keep_firing_for),
    )
    for key, number in numbers:
        if number is not None and not math.isfinite(number):
            out.append((key, f"{key} must be a finite number"))
        elif number is not None and key in ("for", "min_sample", "keep_firing_for") and number < 0:
            out.append((key, f"{key} must be >= 0"))
    if clear is not None and op in OPS and math.isfinite(value) and OPS[op](clear, value):
        side = "above" if op in (">", ">=") else "below"
        out.append(
            (
                "clear",
                f"clear {clear:g} is on the firing side of value {value:g} "
                f"(for op {op} it must not be {side} it)",
            )
        )
    for guard in when:
        out += _metric_problems("when", guard.metric, scope) + _op_problems("when", guard.op)
    if message and message not in THRESHOLD_MESSAGES:
        out.append(("message", f"unknown message {message!r}; known: {', '.join(THRESHOLD_MESSAGES)}"))
    for key, text in (("summary", summary), ("resolved_summary", resolved_summary)):
        out += _template_problems(key, text, name=name, metric=metric, op=op, severity=severity)
    return out


def _template_problems(
    key: str, text: Text, *, name: str, metric: str, op: str, severity: str
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pairs = [("", text)] if isinstance(text, str) else list(text)
    for lang, template in pairs:
        if lang and lang not in LANGUAGES:
            out.append((key, f"{key}: unknown language {lang!r}; use {' or '.join(LANGUAGES)}"))
            continue
        if not template:
            continue
        where = f" ({lang})" if lang else ""
        if spec := spec_problem(template):
            out.append((key, f"{key}{where} template too long: {spec}"))
            continue
        try:
            sample = _fill(
                template,
                {"site": "s"},
                rule=name,
                metric=metric,
                op=op,
                value=1.0,
                threshold=1.0,
                clear=1.0,
                severity=severity,
            )
        except (KeyError, ValueError, IndexError, AttributeError, TypeError) as exc:
            out.append(
                (key, f"bad {key}{where} template ({exc!r}); placeholders: {', '.join(_TEMPLATE_KEYS)}")
            )
            continue
        if len(sample) > SUMMARY_MAX_CHARS:
            out.append(
                (key, f"{key}{where} template too long: {len(sample)} characters (max {SUMMARY_MAX_CHARS})")
            )
    return out


def _metric_problems(key: str, metric: str, scope: str) -> list[tuple[str, str]]:
    spec = METRICS.get(metric)
    if spec is None:
        return [(key, f"unknown metric {metric!r}; known: {', '.join(sorted(METRICS))}")]
    if scope in SCOPE_KEYS and scope not in spec.readers:
        return [(key, f"metric {metric!r} is not available per {scope}; it is per {', '.join(spec.readers)}")]
    return []


def _op_problems(key: str, op: str) -> list[tuple[str, str]]:
    return [] if op in OPS else [(key, f"bad op {op!r}; use one of {' '.join(OPS)}")]
