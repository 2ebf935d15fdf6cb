"""The rules file's ``definitions:`` section: how the floor counts, per site with per-queue overrides.

::

    definitions:
      preset: floorwatch          # the base: floorwatch (default), asterisk, amazon-connect, genesys
      sl_threshold_s: 20          # any field of floor/definitions.py's Definitions overrides it
      sites:
        bj-01:
          preset: asterisk        # a site starts from the file's value (or its own preset)
          time_zone: Asia/Shanghai
          day_start_s: 6h
          language: zh            # its readers' default language (pages, reports, notifications)
          queues:
            vip: {sl_threshold_s: 10}   # a queue starts from its site's value

Each level's value is its base (the preset it names, else the level above) with the keys it sets
replaced; :class:`~...floor.definitions.Definitions` says what each value may be, and the loader
reports its refusal at the key. ``docs/metrics.md`` describes every field and preset.
"""

from __future__ import annotations

import zoneinfo
from typing import Any, ClassVar

from pydantic import Field

from shared.yamlmodel import YamlModel
from shared.yamltypes import ABSENT, Bool, Duration, Number, Str, str_list_with_schema

from ...floor.definitions import (
    ABANDON_SCOPES,
    COMPONENTS,
    PRESETS,
    SL_FORMULAS,
    UNQUEUED,
    Definitions,
    DefinitionsError,
    DefinitionSet,
    preset,
)
from .fields import enum

Components = str_list_with_schema({"type": "string", "enum": list(COMPONENTS)})

# the languages a site may name; the pure core does not import shared.i18n, whose LANGS this must
# equal (tests/unit/shared/test_i18n.py checks it)
LANGS = ("zh", "en")


class _Fields(YamlModel):
    """The fields every level may set (each optional: unset keeps the base's value)."""

    preset: enum(PRESETS, "the vendor preset this level starts from") = ABSENT  # type: ignore[valid-type]
    sl_threshold_s: Number = Field(default=ABSENT, description="answered after at most this wait: within")
    sl_formula: enum(SL_FORMULAS, "the service level's denominator") = ABSENT  # type: ignore[valid-type]
    short_abandon_s: Number = Field(default=ABSENT, description="abandoned sooner: a short abandon")
    abandoned: enum(ABANDON_SCOPES, "caller: hang-ups only; all: queue exits too") = ABSENT  # type: ignore[valid-type]
    unqueued: enum(UNQUEUED, "calls answered without queueing in queue figures") = ABSENT  # type: ignore[valid-type]
    aht_components: Components = ABSENT  # type: ignore[valid-type]
    outbound_busy: Bool = ABSENT
    day_start_s: Duration = Field(default=ABSENT, description="the business day's start after midnight")
    time_zone: Str = Field(default=ABSENT, description="IANA zone of the business day, e.g. Asia/Shanghai")
    interval_s: Duration = Field(default=ABSENT, description="report interval, e.g. 30m")

    def changes(self) -> dict[str, Any]:
        """The :class:`Definitions` fields this level sets."""
        out: dict[str, Any] = {}
        for key in self.model_fields_set - {"preset", "sites", "queues", "language"}:
            value = getattr(self, key)
            if key in ("day_start_s", "interval_s") and isinstance(value, float) and value.is_integer():
                value = int(value)
            out[key] = value
        return out

    def on(self, base: Definitions) -> Definitions:
        """This level's value: its preset (else ``base``) with its keys replaced; raises
        :class:`DefinitionsError` naming the field."""
        start = preset(self.preset) if self.preset is not None else base
        return start.replace(**self.changes())


class QueueDefinitionsSpec(_Fields):
    noun: ClassVar[str] = "a queue's definitions"
    unknown_key: ClassVar[str] = "unknown key {key!r} in a queue's definitions; known: {known}"


class SiteDefinitionsSpec(_Fields):
    noun: ClassVar[str] = "a site's definitions"
    unknown_key: ClassVar[str] = "unknown key {key!r} in a site's definitions; known: {known}"

    # not a counting choice: the site's readers' default language (DefinitionSet.languages)
    language: enum(LANGS, "the site's default language for its readers: zh or en") = ABSENT  # type: ignore[valid-type]
    queues: dict[str, QueueDefinitionsSpec] = Field(default_factory=dict)


class DefinitionsSpec(_Fields):
    """``definitions:`` — the file's value, then ``sites:`` (each with ``queues:``)."""

    noun: ClassVar[str] = "definitions"
    unknown_key: ClassVar[str] = "unknown key {key!r} in definitions; known: {known}"

    sites: dict[str, SiteDefinitionsSpec] = Field(default_factory=dict)


Where = tuple[str | int, ...]


def build(spec: DefinitionsSpec) -> tuple[DefinitionSet | None, list[tuple[Where, str]]]:
    """The definition set of ``spec`` and the problems found, each ``(path under definitions:,
    message)``; the set is None when there is a problem."""
    problems: list[tuple[Where, str]] = []

    def level(node: _Fields, base: Definitions, where: Where) -> Definitions:
        start = base
        if node.preset is not None:
            try:
                start = preset(node.preset)
            except DefinitionsError as exc:
                problems.append(((*where, "preset"), str(exc)))
        try:
            value = start.replace(**node.changes())
        except DefinitionsError as exc:
            found = []
            for key, v in node.changes().items():  # each key alone: every bad one is reported
                try:
                    start.replace(**{key: v})
                except DefinitionsError as one:
                    found.append(((*where, key), str(one)))
            problems.extend(found or [(where, str(exc))])
            return base
        if "time_zone" in node.model_fields_set and value.time_zone is not None:
            try:
                zoneinfo.ZoneInfo(value.time_zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                message = (
                    f"time_zone: unknown time zone {value.time_zone!r} (an IANA name such as Asia/Shanghai)"
                )
                problems.append(((*where, "time_zone"), message))
        return value

    default = level(spec, Definitions(), ())
    sites: dict[str, Definitions] = {}
    queues: dict[str, dict[str, Definitions]] = {}
    languages: dict[str, str] = {}
    for site, node in spec.sites.items():
        value = level(node, default, ("sites", site))
        if node.preset is not None or node.changes():  # a site that names only its language
            sites[site] = value  # counts as the file does (and keeps the reducer's fast path)
        if node.language is not None:
            if node.language in LANGS:
                languages[site] = node.language
            else:
                problems.append((("sites", site, "language"),
                                 f"language: one of {', '.join(LANGS)}; got {node.language!r}"))
        for queue, qnode in node.queues.items():
            queues.setdefault(site, {})[queue] = level(qnode, value, ("sites", site, "queues", queue))
    if problems:
        return None, problems
    return DefinitionSet(default=default, sites=sites, queues=queues, languages=languages), []
