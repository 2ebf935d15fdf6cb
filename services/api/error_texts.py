"""The API's human-readable error ``detail`` in the reader's language (issue 15).

The routes raise their errors in English, as before; the error handlers (``app.py``, and the
guard's early answers) pass each ``detail`` through :func:`translate`. The catalogue's ``error.*``
entries hold every such text: the English one is a pattern (``{name}`` matches any text) that
recognises the detail and takes its variable parts, the Chinese one says it with those parts.
Only ``detail`` changes: status codes, headers and structured fields (``errors`` of a 422) stay
as they are for programs. A detail no entry recognises is left in English.
"""

from __future__ import annotations

from typing import Any

from shared.i18n import Catalogue, patterns, render_text

PREFIX = "error."
VALIDATION = "validation."  # pydantic's error types (the 422's errors[].type)


def translate(detail: Any, lang: str, cat: Catalogue) -> Any:
    """``detail`` in ``lang`` when it is a text the catalogue knows; else unchanged."""
    if not isinstance(detail, str):
        return detail
    return patterns.translate(detail, lang, cat, PREFIX)


def validation_part(where: str, error_type: str, msg: str, lang: str, cat: Catalogue) -> str:
    """One part of a 422's readable detail: ``where: what`` in ``lang`` (pydantic's English
    message when the catalogue has no text for its error type)."""
    if lang == "en":
        return f"{where}: {msg}"
    what = cat.texts.get(lang, {}).get(VALIDATION + error_type)
    template = cat.get(lang, "validation") or "{where}: {what}"
    return render_text(template, {"where": where, "what": what or msg}, lang, cat)
