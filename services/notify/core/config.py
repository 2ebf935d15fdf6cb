"""The notifications configuration as frozen values (read by ``loader.py``).

Vocabulary and semantics are Alertmanager's: a routing tree of :class:`Route` (matchers,
``continue``, ``group_by``, ``group_wait`` / ``group_interval`` / ``repeat_interval``, mute and
active time intervals) delivering to named :class:`Receiver` s. Floorwatch adds per-receiver
language and templates, vendor rate limits, and ``escalate_to`` (an escalated alert is also
delivered through the named route).

Secrets are *references* here (``env:NAME`` / ``file:/path``); the shell resolves them, so the
configuration can be printed, published and logged without leaking a robot key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Final

from shared.quiet_times import TimeInterval

from .matchers import Matcher

# "none": Alertmanager's receiver without integrations — messages are decided and logged, not sent
KINDS: Final = ("webhook", "wecom", "dingtalk", "feishu", "email", "none")
LANGUAGES: Final = ("zh", "en")


@dataclass(frozen=True)
class RateLimit:
    """At most ``per_minute`` messages in any 60 s and ``per_second`` in any 1 s (0 = no limit)."""

    per_minute: int = 0
    per_second: int = 0
    max_body_bytes: int = 0  # 0 = no limit


# What each vendor documents (docs/notifications.md cites the pages): the defaults per kind.
VENDOR_LIMITS: Final = {
    "wecom": RateLimit(per_minute=20, max_body_bytes=4096),
    "dingtalk": RateLimit(per_minute=20, max_body_bytes=20_000),
    "feishu": RateLimit(per_minute=100, per_second=5, max_body_bytes=20 * 1024),
    "webhook": RateLimit(),
    "email": RateLimit(),
    "none": RateLimit(),
}


@dataclass(frozen=True)
class Receiver:
    name: str
    kind: str
    url: str = ""  # webhook / robot URL (may itself be a secret reference)
    secret: str | None = None  # HMAC / signing secret reference (env:… / file:…)
    # zh | en, the receiver's own (or the file's ``language:``); None: its alerts' site's
    # (NotifyConfig.speaking)
    language: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    templates: tuple[tuple[str, str], ...] = ()  # template name -> Jinja2 source (overrides defaults)
    rate_limit: RateLimit = RateLimit()
    max_alerts: int = 0  # webhook: alerts per message, the rest counted in truncatedAlerts (0 = all)
    # email
    to: tuple[str, ...] = ()
    sender: str = ""
    smarthost: str = ""  # host:port
    username: str = ""
    password: str | None = None  # secret reference
    starttls: bool = True
    mentions: tuple[str, ...] = ()  # robot @-mentions (user ids / mobiles / "@all")

    def template(self, name: str) -> str | None:
        return dict(self.templates).get(name)


@dataclass(frozen=True)
class Route:
    """One node of the routing tree; children inherit unset values from their parent."""

    name: str
    receiver: str
    matchers: tuple[Matcher, ...] = ()
    group_by: tuple[str, ...] = ("alertname",)
    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 4 * 3600.0
    continue_: bool = False
    send_resolved: bool = True
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()
    escalate_to: str | None = None
    routes: tuple[Route, ...] = field(default_factory=tuple)

    @property
    def group_all(self) -> bool:
        return "..." in self.group_by


@dataclass(frozen=True)
class NotifyConfig:
    route: Route
    receivers: tuple[Receiver, ...]
    time_intervals: tuple[TimeInterval, ...] = ()
    backlog_limit: int = 100  # undelivered messages per receiver before flushes wait (grouping)
    source: str = "<config>"
    # the wallboard's audible alarm (served by the API): from which severity, muted when
    wallboard_sound: str | None = None
    wallboard_mute: tuple[str, ...] = ()
    # the language of a receiver that names none: its alerts' site's (the rules file's
    # definitions.sites.<site>.language), else ``language`` (FLOORWATCH_LANGUAGE; English)
    language: str = "en"
    site_languages: Mapping[str, str] = field(default_factory=dict)

    def speaking(self, name: str, site: str | None) -> Receiver:
        """Receiver ``name`` with the language of a message about ``site`` (None: alerts of
        several sites): its own, else the site's, else the default."""
        r = self.receiver(name)
        if r.language is not None:
            return r
        own = self.site_languages.get(site) if site is not None else None
        return replace(r, language=own or self.language)

    def receiver(self, name: str) -> Receiver:
        for r in self.receivers:
            if r.name == name:
                return r
        raise KeyError(name)

    def intervals(self, names: tuple[str, ...]) -> tuple[TimeInterval, ...]:
        by_name = {i.name: i for i in self.time_intervals}
        return tuple(by_name[n] for n in names)

    def routes(self) -> list[Route]:
        """Every route of the tree, depth first."""
        out: list[Route] = []

        def walk(r: Route) -> None:
            out.append(r)
            for c in r.routes:
                walk(c)

        walk(self.route)
        return out

    def route_named(self, name: str) -> Route | None:
        return next((r for r in self.routes() if r.name == name), None)
