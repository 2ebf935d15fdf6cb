"""Which language a reader gets: the first of the token's (user's) language, a page's ``?lang=``
override, the site default and the browser's ``Accept-Language`` that Floorwatch speaks.

Order (issue 15): an explicit ``?lang=`` for one page wins; then the token's language; then the
site default (``FLOORWATCH_LANGUAGE``); then the browser's; English last.
"""

from __future__ import annotations

from .catalogue import FALLBACK, LANGS


def normalise(tag: str | None) -> str | None:
    """``zh-CN`` / ``zh_Hans`` / ``ZH`` -> ``zh``; ``en-GB`` -> ``en``; anything else -> None."""
    if not tag:
        return None
    base = tag.strip().replace("_", "-").split("-")[0].lower()
    return base if base in LANGS else None


def from_accept_language(header: str | None) -> str | None:
    """The best language of an ``Accept-Language`` header that Floorwatch speaks, or None."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")[:32]):  # bounded: a hostile header is long
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        lang = normalise(tag)
        if lang is not None and q > 0:
            ranked.append((-q, i, lang))
    return min(ranked)[2] if ranked else None


def choose_language(
    *, page: str | None = None, token: str | None = None, site: str | None = None, accept: str | None = None
) -> str:
    """The reader's language, by the order of the module docstring."""
    for candidate in (normalise(page), normalise(token), normalise(site), from_accept_language(accept)):
        if candidate is not None:
            return candidate
    return FALLBACK
