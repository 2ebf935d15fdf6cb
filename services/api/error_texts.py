"""The API's human-readable error ``detail`` in the reader's language (issue 15).

The routes raise their errors in English, as before; the error handlers (``app.py``, and the
guard's early answers) pass each ``detail`` through :func:`translate`. The catalogue's ``error.*``
entries hold every such text: the English one is a pattern (``{name}`` matches any text) that
recognises the detail and takes its variable parts, the Chinese one says it with those parts.
Only ``detail`` changes: status codes, headers and structured fields (``errors`` of a 422) stay
as they are for programs. A detail no entry recognises is left in English.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from shared.i18n import Catalogue, render_text
from shared.i18n.render import PLACEHOLDER

PREFIX = "error."
VALIDATION = "error.validation."  # pydantic's error types (the 422's errors[].type)


@functools.cache
def _patterns(cat: Catalogue) -> tuple[tuple[str, re.Pattern[str]], ...]:
    out = []
    for key, text in cat.texts["en"].items():
        if not key.startswith(PREFIX) or key.startswith(VALIDATION):
            continue
        parts, last = [], 0
        for m in PLACEHOLDER.finditer(text):
            parts.append(re.escape(text[last : m.start()]))
            parts.append(f"(?P<{m.group(1)}>.*?)")
            last = m.end()
        parts.append(re.escape(text[last:]))
        out.append((key, re.compile("".join(parts), re.DOTALL)))
    # the longest English texts first: a specific one wins over a shorter, more general one
    return tuple(sorted(out, key=lambda kp: -len(cat.texts["en"][kp[0]])))


def translate(detail: Any, lang: str, cat: Catalogue) -> Any:
    """``detail`` in ``lang`` when it is a text the catalogue knows; else unchanged."""
    if lang == "en" or not isinstance(detail, str) or len(detail) > 2000:
        return detail
    for key, pattern in _patterns(cat):
        m = pattern.fullmatch(detail)
        if m is not None:
            zh = cat.texts.get(lang, {}).get(key)
            return detail if zh is None else render_text(zh, m.groupdict(), lang, cat)
    return detail


def validation_part(where: str, error_type: str, msg: str, lang: str, cat: Catalogue) -> str:
    """One part of a 422's readable detail: ``where: what`` in ``lang`` (pydantic's English
    message when the catalogue has no text for its error type)."""
    if lang == "en":
        return f"{where}: {msg}"
    what = cat.texts.get(lang, {}).get(VALIDATION + error_type)
    template = cat.get(lang, "error.validation") or "{where}: {what}"
    return render_text(template, {"where": where, "what": what or msg}, lang, cat)
