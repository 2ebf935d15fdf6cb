"""Message templates: Jinja2 in its immutable sandbox, with zh and en defaults per destination.

A template sees ``status`` (firing | resolved), ``firing`` / ``resolved`` / ``alerts`` (lists of
plain dicts: rule, severity, state, summary, value, threshold, labels, scope keys, started_at,
updated_at, escalated), ``group_labels``, ``common_labels``, ``receiver``, ``route``,
``language``, ``truncated`` (alerts left out to fit the vendor's size limit), ``external_url``
and ``t`` (the catalogue's ``notify.*`` phrases in the receiver's language, shared/i18n). Each
alert's ``summary`` is its transition's ``message`` rendered in that language (``summary_en``: the
English wire text), ``rule_title`` the rule's name in it, ``started_local`` / ``updated_local``
the times in its locale (still the site's time). The sandbox refuses
attribute access to internals and unsafe calls; a template that does not compile is reported
with its line when the configuration is loaded. Rendering is bounded: ``range`` yields at most
``MAX_RANGE`` items, one rendering may make at most ``MAX_WORK`` calls and ``range`` steps,
``*`` / ``+`` / ``**`` may not build a value over ``MAX_CHARS`` characters (or a number over
``MAX_INT_BITS`` bits), and the output may not exceed ``MAX_CHARS`` characters. A template that
fails in any way while rendering (including deep recursion) falls back to the default, and the
``on_error`` callback the shell passes hears of it. These limits stop mistakes, not a determined
author: templates are the operator's configuration.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, Final

from jinja2 import TemplateSyntaxError, Undefined
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from shared.i18n import Catalogue

_TITLE = "{{ t[status] }} · {{ firing|length + resolved|length }} {{ t.alerts }}{% if group_labels.site %} · {{ group_labels.site }}{% endif %}"
_MARKDOWN = """\
{%- for a in firing %}
**{{ t[a.severity] if a.severity in t else a.severity }}** · {{ a.rule_title }}{% if a.escalated %} ({{ t.escalated }}){% endif %}
> {{ a.summary }}
> {{ t.site }}: {{ a.site }}{% for k in ['queue', 'team', 'agent', 'campaign'] if a[k] %} · {{ a[k] }}{% endfor %}
> {{ t.since }} {{ a.started_at[11:19] }}{% if a.value is not none %} · {{ t.value }} {{ '%g'|format(a.value) }}{% if a.threshold is not none %} ({{ t.threshold }} {{ '%g'|format(a.threshold) }}){% endif %}{% endif %}
{% endfor %}
{%- for a in resolved %}
**{{ t.resolved }}** · {{ a.rule_title }}
> {{ a.summary }}
> {{ t.site }}: {{ a.site }}{% for k in ['queue', 'team', 'agent', 'campaign'] if a[k] %} · {{ a[k] }}{% endfor %} · {{ t.ended }} {{ a.updated_at[11:19] }}
{% endfor %}
{%- if truncated %}
… {{ truncated }} {{ t.more }}
{%- endif %}
{%- if external_url %}
[{{ external_url }}]({{ external_url }})
{%- endif %}"""
_HTML = """\
<h3>{{ title }}</h3>
<table border="1" cellpadding="4" cellspacing="0">
<tr><th>{{ t.severity }}</th><th>{{ t.rule }}</th><th>{{ t.site }}</th><th>{{ t.summary }}</th><th>{{ t.since }}</th></tr>
{% for a in firing %}<tr><td>{{ t[a.severity] if a.severity in t else a.severity }}</td><td>{{ a.rule_title }}</td>\
<td>{{ a.site }} {{ a.queue or a.team or a.agent or '' }}</td><td>{{ a.summary }}</td><td>{{ a.started_local }}</td></tr>
{% endfor %}{% for a in resolved %}<tr><td>{{ t.resolved }}</td><td>{{ a.rule_title }}</td>\
<td>{{ a.site }} {{ a.queue or a.team or a.agent or '' }}</td><td>{{ a.summary }}</td><td>{{ a.updated_local }}</td></tr>
{% endfor %}</table>
{% if truncated %}<p>… {{ truncated }} {{ t.more }}</p>{% endif %}"""

DEFAULTS: Final = {"title": _TITLE, "subject": "[Floorwatch] " + _TITLE, "text": _MARKDOWN, "html": _HTML}
_DEFAULT_SOURCES: Final = frozenset(DEFAULTS.values())


class TemplateError(ValueError):
    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.line = line


MAX_CHARS: Final = 1024 * 1024  # a rendered text, and any string or list built with * or +
MAX_WORK: Final = 100_000  # calls and range steps in one rendering
MAX_RANGE: Final = 10_000
MAX_INT_BITS: Final = 4096

_budget: ContextVar[list[int]] = ContextVar("notify_template_budget")


def _spend(n: int = 1) -> None:
    left = _budget.get(None)
    if not left:  # outside a rendering, or rendering a default
        return
    left[0] -= n
    if left[0] < 0:
        raise SecurityError(f"template does more than {MAX_WORK} calls and range steps")


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple) else 0


def _binop(op: str, left: Any, right: Any) -> Any:
    if op == "*":
        count, seq = (right, left) if isinstance(right, int) else (left, right)
        if isinstance(count, int) and _size(seq) * max(count, 0) > MAX_CHARS:
            raise SecurityError(f"template builds a value over {MAX_CHARS} characters")
    if op == "+" and _size(left) + _size(right) > MAX_CHARS:
        raise SecurityError(f"template builds a value over {MAX_CHARS} characters")
    if op == "*" and isinstance(left, int) and isinstance(right, int) \
            and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise SecurityError(f"template builds a number over {MAX_INT_BITS} bits")
    if op == "**" and isinstance(left, int) and isinstance(right, int) \
            and max(left.bit_length(), 1) * right > MAX_INT_BITS:
        raise SecurityError(f"template builds a number over {MAX_INT_BITS} bits")
    return _OPS[op](left, right)


_OPS: Final[dict[str, Callable[[Any, Any], Any]]] = {"*": operator.mul, "+": operator.add, "**": operator.pow}


class _Steps:
    """A ``range`` whose iteration spends the rendering's budget, one step per item."""

    def __init__(self, items: range) -> None:
        self._items = items

    def __iter__(self) -> Iterator[int]:
        for i in self._items:
            _spend()
            yield i

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: Any) -> Any:
        return self._items[index]

    def __contains__(self, value: object) -> bool:
        return value in self._items


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with the work and size limits above."""

    intercepted_binops = frozenset(_OPS)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        return _binop(operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _spend()
        result = super().call(__context, __obj, *args, **kwargs)
        return _Steps(result) if isinstance(result, range) else result


def _safe_range(*args: int) -> range:
    items = range(*args)
    if len(items) > MAX_RANGE:
        raise OverflowError(f"range over {MAX_RANGE} items")
    return items


class _Env:
    text = _Sandbox(autoescape=False, undefined=Undefined, keep_trailing_newline=False)
    html = _Sandbox(autoescape=True, undefined=Undefined)


_Env.text.globals["range"] = _Env.html.globals["range"] = _safe_range


def check_template(source: str) -> None:
    """Raise :class:`TemplateError` (with the template's line) if ``source`` does not compile."""
    try:
        _Env.text.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(exc.message or str(exc), exc.lineno or 1) from None


class Templates:
    """Compiled templates, cached by source, and the message catalogue they render texts with
    (the shell passes ``shared.i18n.load_catalogue()``; tests may pass their own)."""

    def __init__(self, catalogue: Catalogue | None = None, *,
                 on_error: Callable[[BaseException], None] | None = None) -> None:
        self._cache: dict[tuple[bool, str], Any] = {}
        self._catalogue = catalogue
        self._on_error = on_error

    @property
    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            from shared.i18n import load_catalogue  # read once per process (catalogue.py)

            self._catalogue = load_catalogue()
        return self._catalogue

    def render(self, source: str, context: dict[str, Any], *, html: bool = False,
               fallback: str | None = None) -> str:
        """``source`` rendered within the limits; if that fails in any way, ``fallback`` (the
        default), reporting the failure to ``on_error``. Without a fallback the error is raised."""
        try:
            return self._bounded(source, context, html)
        except Exception as exc:  # a template's failure must not stop the notifier
            if fallback is None or fallback == source:
                raise
            if self._on_error is not None:
                self._on_error(exc)
            return self._bounded(fallback, context, html)

    def _bounded(self, source: str, context: dict[str, Any], html: bool) -> str:
        # the defaults are ours and grow only with the alerts listed: not limited, so the
        # fallback always renders
        limited = source not in _DEFAULT_SOURCES
        token = _budget.set([MAX_WORK] if limited else [])
        try:
            parts, size = [], 0
            for part in self._compiled(source, html).generate(context):
                size += len(part)
                if limited and size > MAX_CHARS:
                    raise SecurityError(f"template output over {MAX_CHARS} characters")
                parts.append(part)
            return "".join(parts).strip()
        finally:
            _budget.reset(token)

    def _compiled(self, source: str, html: bool) -> Any:
        key = (html, source)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = (_Env.html if html else _Env.text).from_string(source)
        return hit
