"""Floorwatch's languages: one message catalogue (gettext ``.po`` files read with Babel) for the
services and the browser pages, the renderer of alert messages, and the choice of a reader's
language.

* ``catalogue.py`` reads ``locales/<lang>/LC_MESSAGES/floorwatch.po`` (the source of every text).
* ``render.py`` formats a message ``{key, params}`` (or a text with placeholders) for a language;
  ``static/i18n.js`` is its browser twin, fed the same catalogue by ``GET /v1/i18n``.
* ``choice.py`` picks the language: the token's, the site's (its own, else ``FLOORWATCH_LANGUAGE``),
  the browser's, in that order.
"""

from . import patterns
from .catalogue import LANGS, Catalogue, load_catalogue
from .choice import SiteLanguages, choose_language, from_accept_language, one_site
from .render import local_time, render_message, render_text

__all__ = [
    "LANGS",
    "Catalogue",
    "SiteLanguages",
    "choose_language",
    "from_accept_language",
    "load_catalogue",
    "local_time",
    "one_site",
    "patterns",
    "render_message",
    "render_text",
]
