"""Texts written in English by code that speaks no language (API errors, rules-file problems),
said in the reader's: the catalogue's English entry of a family (``error.*``, ``rules_error.*``) is
a pattern — ``{name}`` matches any text — that recognises the English text and takes its variable
parts; the entry in the reader's language says it with those parts. Pure; unknown texts stay.
"""

from __future__ import annotations

import functools
import re

from .catalogue import Catalogue
from .render import PLACEHOLDER, render_text

MAX_TEXT = 2000  # longer texts are not searched (bounded work per text)


@functools.cache
def _patterns(cat: Catalogue, prefix: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    out = []
    for key, text in cat.texts["en"].items():
        if not key.startswith(prefix):
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


def translate(text: str, lang: str, cat: Catalogue, prefix: str) -> str:
    """``text`` in ``lang`` when an entry of family ``prefix`` recognises it; else unchanged."""
    if lang == "en" or len(text) > MAX_TEXT:
        return text
    for key, pattern in _patterns(cat, prefix):
        m = pattern.fullmatch(text)
        if m is not None:
            own = cat.texts.get(lang, {}).get(key)
            return text if own is None else render_text(own, m.groupdict(), lang, cat)
    return text
