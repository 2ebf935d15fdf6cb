"""The message catalogue: gettext ``.po`` files, one per language, read with Babel.

``msgid`` is a stable key (``alert.calls-waiting.firing``, ``wallboard.title``); ``msgstr`` the text
with ``{placeholders}``. Reading happens once per process (``load_catalogue`` caches); the
renderer (``render.py``) gets the :class:`Catalogue` passed in, so pure code never reads files.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from babel.messages.pofile import read_po

LANGS: Final = ("zh", "en")
FALLBACK: Final = "en"
LOCALES: Final = Path(__file__).parent / "locales"
DOMAIN: Final = "floorwatch"


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one per process
class Catalogue:
    """Every text per language: ``texts[lang][key]``."""

    texts: Mapping[str, Mapping[str, str]]

    def get(self, lang: str, key: str) -> str | None:
        """The text of ``key`` in ``lang``, else in English, else None."""
        text = self.texts.get(lang, {}).get(key)
        if text is None and lang != FALLBACK:
            text = self.texts.get(FALLBACK, {}).get(key)
        return text

    def prefixed(self, lang: str, prefix: str) -> dict[str, str]:
        """The texts of ``lang`` whose key starts with ``prefix``, the prefix taken off."""
        return {k[len(prefix) :]: v for k, v in self.texts.get(lang, {}).items() if k.startswith(prefix)}


def read_catalogue(root: Path = LOCALES) -> Catalogue:
    """Read ``root/<lang>/LC_MESSAGES/floorwatch.po`` for every language (fuzzy entries skipped)."""
    texts: dict[str, dict[str, str]] = {}
    for lang in LANGS:
        with (root / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as f:
            cat = read_po(f, locale=lang, domain=DOMAIN)
        texts[lang] = {str(m.id): str(m.string) for m in cat if m.id and m.string and not m.fuzzy}
    return Catalogue(texts)


@functools.cache
def load_catalogue() -> Catalogue:
    """The shipped catalogue, read on first use."""
    return read_catalogue()
