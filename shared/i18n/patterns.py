"""Texts written in English by code that speaks no language (API errors, rules-file problems),
said in the reader's: the catalogue's English entry of a family (``error.*``, ``rules_error.*``) is
a pattern — ``{name}`` matches any text — that recognises the English text and takes its variable
parts; the entry in the reader's language says it with those parts (a part marked ``{name:said}``
is itself said, see :func:`translate`). Pure; unknown texts stay.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from .catalogue import Catalogue
from .render import PLACEHOLDER, render_text

MAX_TEXT = 2000  # longer texts are not searched (bounded work per text)
MAX_DEPTH = 3  # parts said within parts (bounded work per text)
SAID: Final = re.compile(r"\{(\w+):said\}")


@functools.cache
def _patterns(cat: Catalogue, prefixes: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    out = []
    for key, text in cat.texts["en"].items():
        if not key.startswith(prefixes):
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


def translate(text: str, lang: str, cat: Catalogue, prefix: str, _depth: int = 0,
              _families: tuple[str, ...] | None = None) -> str:
    """``text`` in ``lang`` when an entry of family ``prefix`` recognises it; else unchanged.

    A part the reader's text marks ``{name:said}`` (a type, a noun, a nested problem...) is said
    in turn by the family's parts (``rules_error_part.*`` for ``rules_error.``) and the family
    itself (the longest English text that recognises it), at most ``MAX_DEPTH`` deep."""
    if lang == "en" or len(text) > MAX_TEXT:
        return text
    for key, pattern in _patterns(cat, _families or (prefix,)):
        m = pattern.fullmatch(text)
        if m is not None:
            own = cat.texts.get(lang, {}).get(key)
            if own is None:
                return text
            params = m.groupdict()
            for name in SAID.findall(own):
                if _depth < MAX_DEPTH and isinstance(params.get(name), str):
                    families = (prefix, prefix.rstrip(".") + "_part.")
                    params[name] = translate(params[name], lang, cat, prefix, _depth + 1, families)
            return render_text(SAID.sub(r"{\1}", own), params, lang, cat)
    return text
