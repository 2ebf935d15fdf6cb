"""Which language a reader gets: the first of the token's (user's) language, a page's ``?lang=``
override, the site default and the browser's ``Accept-Language`` that Floorwatch speaks.

Order (issue 15): an explicit ``?lang=`` for one page wins; then the token's language; then the
site default; then the browser's; English last. The site default (:class:`SiteLanguages`) is the
site's own ``language:`` (the rules file's ``definitions.sites.<site>``) when the reader looks at
one site (:func:`one_site`), else ``FLOORWATCH_LANGUAGE``, the default for every site.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .catalogue import FALLBACK, LANGS


@dataclass(frozen=True, slots=True)
class SiteLanguages:
    """The site defaults: each site's declared language (``sites``), and ``default``
    (``FLOORWATCH_LANGUAGE``) for a site that declares none or a reader of no one site."""

    sites: Mapping[str, str] = field(default_factory=dict)
    default: str | None = None

    def of(self, site: str | None) -> str | None:
        """The default language for a reader of ``site`` (None: of no one site)."""
        own = self.sites.get(site) if site is not None else None
        return own if own is not None else self.default


def one_site(asked: str | None, scope_sites: Iterable[str] | None) -> str | None:
    """The one site a reader looks at: the request's ``?site=`` when it names one (no list), else
    the token's scope when it is exactly one site; None otherwise."""
    if asked and "," not in asked:
        return asked.strip() or None
    if scope_sites is not None:
        sites = list(scope_sites)
        if len(sites) == 1:
            return sites[0]
    return None


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
