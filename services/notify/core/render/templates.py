"""Message templates: Jinja2 in its immutable sandbox, with zh and en defaults per destination.

A template sees ``status`` (firing | resolved), ``firing`` / ``resolved`` / ``alerts`` (lists of
plain dicts: rule, severity, state, summary, value, threshold, labels, scope keys, started_at,
updated_at, escalated), ``group_labels``, ``common_labels``, ``receiver``, ``route``,
``language``, ``truncated`` (alerts left out to fit the vendor's size limit), ``external_url``
and ``t`` (the catalogue's ``notify.*`` phrases in the receiver's language, shared/i18n). Each
alert's ``summary`` is its transition's ``message`` rendered in that language (``summary_en``: the
English wire text), ``rule_title`` the rule's name in it, ``started_local`` / ``updated_local``
the times in its locale (still the site's time). The sandbox refuses
attribute access to internals and unsafe calls; a template that fails is reported with its
line when the configuration is loaded, and a rendering error falls back to the default.
"""

from __future__ import annotations

from typing import Any, Final

from jinja2 import TemplateSyntaxError, Undefined
from jinja2.exceptions import SecurityError, UndefinedError
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


class TemplateError(ValueError):
    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.line = line


class _Env:
    text = ImmutableSandboxedEnvironment(autoescape=False, undefined=Undefined, keep_trailing_newline=False)
    html = ImmutableSandboxedEnvironment(autoescape=True, undefined=Undefined)


def check_template(source: str) -> None:
    """Raise :class:`TemplateError` (with the template's line) if ``source`` does not compile."""
    try:
        _Env.text.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(exc.message or str(exc), exc.lineno or 1) from None


class Templates:
    """Compiled templates, cached by source, and the message catalogue they render texts with
    (the shell passes ``shared.i18n.load_catalogue()``; tests may pass their own)."""

    def __init__(self, catalogue: Catalogue | None = None) -> None:
        self._cache: dict[tuple[bool, str], Any] = {}
        self._catalogue = catalogue

    @property
    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            from shared.i18n import load_catalogue  # read once per process (catalogue.py)

            self._catalogue = load_catalogue()
        return self._catalogue

    def render(self, source: str, context: dict[str, Any], *, html: bool = False,
               fallback: str | None = None) -> str:
        try:
            return str(self._compiled(source, html).render(context)).strip()
        except (SecurityError, UndefinedError, TypeError, ValueError, TemplateSyntaxError, KeyError,
                AttributeError, ArithmeticError):
            if fallback is None or fallback == source:
                raise
            return str(self._compiled(fallback, html).render(context)).strip()

    def _compiled(self, source: str, html: bool) -> Any:
        key = (html, source)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = (_Env.html if html else _Env.text).from_string(source)
        return hit
