"""Rendering a message for one language: pure functions of the message and a :class:`Catalogue`.

A message is ``{"key": K, "params": {...}}`` (an alert transition's ``message``), optionally with
``"text": {lang: already rendered text}`` (a rules file's own summary template, rendered by the
engine per language). The catalogue's text for ``K`` names params as ``{name}`` or ``{name:spec}``:

* ``term``   -- the catalogue's ``term.<name>.<value>`` (a metric, a reason...), else the value itself
* ``dur``    -- a duration in seconds: ``1:14`` / ``1分14秒``; under a minute ``0:45`` / ``45秒``
* ``mins``   -- a long duration: ``16 min`` / ``16 分钟`` from 2 minutes up, else seconds
* ``spct``   -- a signed change: ``+42%`` / ``−58%``
* ``counts`` -- ``{name: n}`` as ``break 3, lunch 2`` with each name a ``term``
* ``num``    -- a figure in the reader's locale (Babel): whole, or 3 significant digits
* any Python format spec (``.0f``, ``.0%``, ``g``); a param that is itself a message renders as one.

``static/i18n.js`` implements the same grammar for the browser; ``tests/unit/test_i18n.py`` holds
both to it. A missing param renders empty and a missing key falls back to English, then to the
caller's fallback text: a screen never fails on a message.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any, Final

from babel.dates import format_datetime
from babel.numbers import format_decimal

from .catalogue import Catalogue

PLACEHOLDER: Final = re.compile(r"\{(\w+)(?::([^{}]*))?\}")
DASH: Final = "–"
_BABEL_LOCALE: Final = {"zh": "zh_Hans_CN", "en": "en_GB"}


def render_message(message: Mapping[str, Any] | None, lang: str, cat: Catalogue, fallback: str = "") -> str:
    """``message`` in ``lang`` (see the module docstring); ``fallback`` (e.g. the English
    ``summary`` of an old transition without a message) when there is nothing to render."""
    if not isinstance(message, Mapping):
        return fallback
    text = message.get("text")
    if isinstance(text, Mapping) and isinstance(text.get(lang), str):
        return str(text[lang])
    key = message.get("key")
    template = cat.get(lang, key) if isinstance(key, str) else None
    if template is None:
        return fallback
    params = message.get("params")
    return render_text(template, params if isinstance(params, Mapping) else {}, lang, cat)


def render_text(template: str, params: Mapping[str, Any], lang: str, cat: Catalogue) -> str:
    """``template`` with its placeholders filled from ``params`` in ``lang``."""

    def one(m: re.Match[str]) -> str:
        name, spec = m.group(1), m.group(2) or ""
        return _format(name, params.get(name), spec, lang, cat)

    return PLACEHOLDER.sub(one, template)


def _format(name: str, value: Any, spec: str, lang: str, cat: Catalogue) -> str:
    if isinstance(value, Mapping) and "key" in value:
        return render_message(value, lang, cat)
    if spec == "term":
        word = "none" if value is None else str(value)
        return cat.get(lang, f"term.{name}.{word}") or word
    if spec == "counts" and isinstance(value, Mapping):
        sep = cat.get(lang, "fmt.list_sep") or ", "
        shown = (
            render_text(
                cat.get(lang, "fmt.count") or "{name} {n}",
                {"name": cat.get(lang, f"term.reason.{k}") or k, "n": n},
                lang,
                cat,
            )
            for k, n in value.items()
        )
        return sep.join(shown)
    if value is None:
        return "" if spec == "" else DASH
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    x = float(value)
    if not math.isfinite(x):
        return str(value)
    if spec == "dur":
        return duration(x, lang, cat)
    if spec == "mins":
        key, n = ("fmt.minutes", round(x / 60)) if x >= 120 else ("fmt.seconds", round(x))
        return render_text(cat.get(lang, key) or "{n}", {"n": n}, lang, cat)
    if spec == "spct":
        p = round(x * 100)
        return f"+{p}%" if p >= 0 else f"\u2212{-p}%"
    if spec == "num":
        whole = x == int(x) or abs(x) >= 100
        figure: float = round(x) if whole else float(f"{x:.3g}")
        return format_decimal(
            figure, format="#,##0" if whole else "#,##0.###", locale=_BABEL_LOCALE.get(lang, "en_GB")
        )
    try:
        return format(value, spec)
    except (ValueError, TypeError):
        return str(value)


def local_time(text: str, lang: str) -> str:
    """An RFC 3339 time (as the engine writes it: in the site's UTC offset) in the reader's locale,
    still in the site's time: ``2026年11月30日 08:30:01`` / ``30 Nov 2026, 08:30:01``."""
    try:
        when = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return str(text)
    if when.tzinfo is None:
        return str(text)
    return format_datetime(when, format="medium", tzinfo=when.tzinfo, locale=_BABEL_LOCALE.get(lang, "en_GB"))


def duration(seconds: float, lang: str, cat: Catalogue) -> str:
    """``1:14`` / ``1分14秒`` (``1:02:03`` / ``1小时2分3秒`` from an hour; ``0:45`` / ``45秒``)."""
    s = max(0, round(seconds))
    if s < 60:
        return render_text(cat.get(lang, "fmt.duration_s") or "{s} s", {"s": s, "ss": f"{s:02d}"}, lang, cat)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    pad = lang == "en"  # 1:04 reads as a clock; 1分4秒 needs no padding
    secs = f"{sec:02d}" if pad else str(sec)
    if h:
        mins = f"{m:02d}" if pad else str(m)
        return render_text(
            cat.get(lang, "fmt.duration_hms") or "{h}:{m}:{s}", {"h": h, "m": mins, "s": secs}, lang, cat
        )
    key = "fmt.duration_m" if sec == 0 else "fmt.duration_ms"  # 2分钟, not 2分0秒
    return render_text(cat.get(lang, key) or "{m}:{s}", {"m": m, "s": secs}, lang, cat)
