"""The notifications file: YAML text → :class:`~.config.NotifyConfig`, every error with its line.

The document is either the configuration itself or a mapping with a ``notifications:`` key (so
the same section can sit in a larger file). Reference: ``docs/notifications.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from shared.quiet_times import MONTHS, WEEKDAYS, Period, TimeInterval, parse_range, parse_time

from .config import KINDS, LANGUAGES, VENDOR_LIMITS, NotifyConfig, RateLimit, Receiver, Route
from .matchers import Matcher, equal, parse_matcher
from .nodes import ConfigError, Reader, line_of

_TOP: Final = ("receivers", "route", "time_intervals", "language", "backlog_limit", "wallboard")
SEVERITIES: Final = ("critical", "warning", "info")
_RECEIVER: Final = ("name", "kind", "url", "secret", "language", "headers", "templates", "rate_limit",
                    "max_alerts", "to", "from", "smarthost", "username", "password", "starttls", "mentions")
_ROUTE: Final = ("name", "receiver", "matchers", "match", "group_by", "group_wait", "group_interval",
                 "repeat_interval", "continue", "send_resolved", "mute_time_intervals",
                 "active_time_intervals", "escalate_to", "routes")
_TEMPLATES: Final = ("title", "text", "body", "html", "subject")
_SECRET_PREFIXES: Final = ("env:", "file:")


def load_config(text: str, name: str = "<notifications>", *, language: str = "en",
                site_languages: Mapping[str, str] | None = None) -> NotifyConfig:
    """Parse and validate; raises :class:`ConfigError` listing every problem with its line.
    Where neither the receiver nor the file names a language, a message speaks its alerts' site's
    (``site_languages``: the rules file's ``definitions.sites.<site>.language``), else
    ``language`` (``FLOORWATCH_LANGUAGE``, the default of every site)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:  # PyYAML composes recursively: thousands of nested brackets
        raise ConfigError(name, [(1, "YAML nested too deeply")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else 1
        raise ConfigError(name, [(line, f"YAML syntax: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(name, [(1, f"YAML error: {exc}")]) from None
    r = Reader()
    if root is None:
        raise ConfigError(name, [(1, "the file is empty: it needs receivers and a route")])
    if isinstance(root, MappingNode):
        keys = {r.python(k): v for k, v in root.value if isinstance(k, ScalarNode)}
        if "notifications" in keys:
            root = keys["notifications"]
    config = _Builder(r, name).top(root)
    if r.errors or config is None:
        raise ConfigError(name, r.errors or [(1, "invalid configuration")])
    return replace(config, language=language if language in LANGUAGES else "en",
                   site_languages={k: v for k, v in (site_languages or {}).items() if v in LANGUAGES})


class _Builder:
    def __init__(self, r: Reader, name: str) -> None:
        self.r = r
        self.name = name
        self.language: str | None = None  # the file's own ``language:`` (its receivers' default)
        self.route_lines: dict[str, int] = {}

    def top(self, node: Node) -> NotifyConfig | None:
        r = self.r
        items = r.mapping(node, "the notifications configuration", _TOP)
        if items is None:
            return None
        for required in ("receivers", "route"):
            if required not in items:
                r.error(node, f"missing required key {required!r}")
        if "language" in items:
            self.language = self._language(items["language"][1]) or self.language
        backlog = 100
        if "backlog_limit" in items:
            value = r.scalar(items["backlog_limit"][1], "int")
            if value is not None and value < 1:
                r.error(items["backlog_limit"][1], "backlog_limit must be at least 1")
            backlog = value or backlog
        intervals = self._intervals(items["time_intervals"][1]) if "time_intervals" in items else ()
        receivers = self._receivers(items["receivers"][1]) if "receivers" in items else ()
        if "route" not in items:
            return None
        route = self._route(items["route"][1], None, "root")
        if route is None:
            return None
        sound, mute = (self._wallboard(items["wallboard"][1], intervals) if "wallboard" in items
                       else (None, ()))
        config = NotifyConfig(route=route, receivers=receivers, time_intervals=intervals,
                              backlog_limit=backlog, source=self.name, wallboard_sound=sound,
                              wallboard_mute=mute)
        self._check_references(config)
        return config

    def _wallboard(self, node: Node, intervals: tuple[TimeInterval, ...]
                   ) -> tuple[str | None, tuple[str, ...]]:
        """``wallboard: {sound: critical | warning | info | false, mute_time_intervals: [...]}``."""
        r = self.r
        items = r.mapping(node, "wallboard", ("sound", "mute_time_intervals")) or {}
        sound: str | None = None
        if "sound" in items:
            value = r.python(items["sound"][1]) if isinstance(items["sound"][1], ScalarNode) else None
            if value is False:
                sound = None
            elif value in SEVERITIES:
                sound = str(value)
            else:
                r.error(items["sound"][1], f"wallboard sound: use one of {', '.join(SEVERITIES)} or false")
        mute: tuple[str, ...] = ()
        if "mute_time_intervals" in items:
            mute = r.strings(items["mute_time_intervals"][1], "mute_time_intervals") or ()
            known = {i.name for i in intervals}
            for name in mute:
                if name not in known:
                    r.error(items["mute_time_intervals"][1], f"wallboard: unknown time interval {name!r}")
        return sound, mute

    # -- receivers ---------------------------------------------------------------------------
    def _language(self, node: Node) -> str | None:
        value: str | None = self.r.scalar(node, "str")
        if value is not None and value not in LANGUAGES:
            self.r.error(node, f"unknown language {value!r}; known: {', '.join(LANGUAGES)}")
            return None
        return value

    def _receivers(self, node: Node) -> tuple[Receiver, ...]:
        out: list[Receiver] = []
        seen: dict[str, int] = {}
        for item in self.r.sequence(node, "receivers"):
            rec = self._receiver(item)
            if rec is None:
                continue
            if rec.name in seen:
                self.r.error(item, f"duplicate receiver name {rec.name!r} (first on line {seen[rec.name]})")
                continue
            seen[rec.name] = line_of(item)
            out.append(rec)
        return tuple(out)

    def _receiver(self, node: Node) -> Receiver | None:
        r = self.r
        items = r.mapping(node, "a receiver", _RECEIVER)
        if items is None:
            return None
        if "name" not in items or "kind" not in items:
            r.error(node, "a receiver needs a name and a kind")
            return None
        name, kind = r.scalar(items["name"][1], "str"), r.scalar(items["kind"][1], "str")
        if name is None or kind is None:
            return None
        if kind not in KINDS:
            r.error(items["kind"][1], f"unknown receiver kind {kind!r}; known: {', '.join(KINDS)}")
            return None
        fields: dict[str, Any] = {"name": name, "kind": kind, "language": self.language,
                                  "rate_limit": VENDOR_LIMITS[kind]}
        for key, (_, value) in items.items():
            self._receiver_field(fields, key, value)
        if kind == "email":
            for needed in ("to", "from", "smarthost"):
                if needed not in items:
                    r.error(node, f"email receiver {name!r} needs {needed!r}")
        elif kind != "none" and "url" not in items:
            r.error(node, f"{kind} receiver {name!r} needs a url")
        return Receiver(**fields)

    def _receiver_field(self, fields: dict[str, Any], key: str, node: Node) -> None:
        r = self.r
        if key in ("name", "kind"):
            return
        if key in ("url", "username", "from", "smarthost"):
            value = r.scalar(node, "str")
            if value is not None:
                fields["sender" if key == "from" else key] = value
                if key == "smarthost" and not value.rpartition(":")[2].isdigit():
                    r.error(node, f"smarthost must be host:port, got {value!r}")
        elif key in ("secret", "password"):
            value = r.scalar(node, "str")
            if value is not None and not value.startswith(_SECRET_PREFIXES):
                r.error(node, f"{key} must be a reference, env:NAME or file:/path — never the secret itself")
            elif value is not None:
                fields[key] = value
        elif key == "language":
            fields["language"] = self._language(node) or fields["language"]
        elif key == "headers":
            fields["headers"] = tuple(r.string_map(node, "headers").items())
        elif key == "templates":
            self._templates(fields, node)
        elif key == "rate_limit":
            fields["rate_limit"] = self._rate_limit(node, fields["rate_limit"])
        elif key == "max_alerts":
            fields["max_alerts"] = r.scalar(node, "int") or 0
        elif key in ("to", "mentions"):
            fields[key] = r.strings(node, key) or ()
        elif key == "starttls":
            value = r.scalar(node, "bool")
            fields["starttls"] = True if value is None else value

    def _templates(self, fields: dict[str, Any], node: Node) -> None:
        from .render.templates import TemplateError, check_template

        items = self.r.mapping(node, "templates", _TEMPLATES) or {}
        out = []
        for key, (_, value_node) in items.items():
            source = self.r.scalar(value_node, "str")
            if source is None:
                continue
            try:
                check_template(source)
            except TemplateError as exc:
                # a block scalar's text starts a line below its indicator
                block = 1 if getattr(value_node, "style", None) in ("|", ">") else 0
                line = line_of(value_node) + block + max(0, exc.line - 1)
                self.r.errors.append((line, f"template {key!r}: {exc}"))
                continue
            out.append((key, source))
        fields["templates"] = tuple(out)

    def _rate_limit(self, node: Node, base: RateLimit) -> RateLimit:
        items = self.r.mapping(node, "rate_limit", ("per_minute", "per_second", "max_body_bytes")) or {}
        values = {}
        for key, (_, value_node) in items.items():
            value = self.r.scalar(value_node, "int")
            if value is not None and value < 0:
                self.r.error(value_node, f"{key} must be >= 0")
            elif value is not None:
                values[key] = value
        return replace(base, **values)

    # -- routes ------------------------------------------------------------------------------
    def _route(self, node: Node, parent: Route | None, path: str) -> Route | None:
        r = self.r
        items = r.mapping(node, f"route {path}", _ROUTE)
        if items is None:
            return None
        if parent is None and "receiver" not in items:
            r.error(node, "the root route needs a receiver")
        if parent is None and ("matchers" in items or "match" in items):
            r.error(node, "the root route matches every alert: it takes no matchers")
        base = parent or Route(name="root", receiver="")
        fields: dict[str, Any] = {
            "name": path, "receiver": base.receiver, "group_by": base.group_by, "group_wait": base.group_wait,
            "group_interval": base.group_interval, "repeat_interval": base.repeat_interval,
            "send_resolved": base.send_resolved, "mute_time_intervals": base.mute_time_intervals,
            "active_time_intervals": base.active_time_intervals, "matchers": (), "routes": (),
            "continue_": False, "escalate_to": None,
        }
        matchers: list[Matcher] = []
        for key, (_, value) in items.items():
            if key in ("name", "receiver", "escalate_to"):
                got = r.scalar(value, "str")
                if got is not None:
                    fields[key] = got
            elif key == "matchers":
                for text_node in r.sequence(value, "matchers"):
                    text = r.scalar(text_node, "str")
                    if text is None:
                        continue
                    try:
                        matchers.append(parse_matcher(text))
                    except ValueError as exc:
                        r.error(text_node, str(exc))
            elif key == "match":
                matchers.extend(equal(k, v) for k, v in r.string_map(value, "match").items())
            elif key == "group_by":
                fields["group_by"] = r.strings(value, "group_by") or base.group_by
            elif key in ("group_wait", "group_interval", "repeat_interval"):
                seconds = r.scalar(value, "duration")
                if seconds is not None and key != "group_wait" and seconds <= 0:
                    r.error(value, f"{key} must be more than 0")
                elif seconds is not None:
                    fields[key] = seconds
            elif key in ("continue", "send_resolved"):
                flag = r.scalar(value, "bool")
                if flag is not None:
                    fields["continue_" if key == "continue" else key] = flag
            elif key in ("mute_time_intervals", "active_time_intervals"):
                fields[key] = r.strings(value, key) or ()
        fields["matchers"] = tuple(matchers)
        route = Route(**fields)
        self.route_lines[route.name] = line_of(node)
        if "routes" in items:
            children = []
            for i, child_node in enumerate(r.sequence(items["routes"][1], "routes")):
                child = self._route(child_node, route, f"{route.name}.{i}")
                if child is not None:
                    children.append(child)
            route = replace(route, routes=tuple(children))
        return route

    def _check_references(self, config: NotifyConfig) -> None:
        names = {rec.name for rec in config.receivers}
        intervals = {i.name for i in config.time_intervals}
        routes = config.routes()
        route_names: dict[str, Route] = {}
        for route in routes:
            if route.receiver and route.receiver not in names:
                self._route_error(route, f"route {route.name!r}: unknown receiver {route.receiver!r}; "
                                  f"known: {', '.join(sorted(names)) or 'none'}")
            for name in route.mute_time_intervals + route.active_time_intervals:
                if name not in intervals:
                    self._route_error(route, f"route {route.name!r}: unknown time interval {name!r}")
            if route.name in route_names:
                self._route_error(route, f"two routes are named {route.name!r}")
            route_names[route.name] = route
        for route in routes:
            if route.escalate_to is not None and route.escalate_to not in route_names:
                self._route_error(route, f"route {route.name!r}: escalate_to names no route "
                                  f"({route.escalate_to!r})")

    def _route_error(self, route: Route, message: str) -> None:
        self.r.errors.append((self.route_lines.get(route.name, 1), message))

    # -- time intervals ------------------------------------------------------------------------
    def _intervals(self, node: Node) -> tuple[TimeInterval, ...]:
        out = []
        for item in self.r.sequence(node, "time_intervals"):
            items = self.r.mapping(item, "a time interval", ("name", "time_intervals"))
            if items is None:
                continue
            if "name" not in items or "time_intervals" not in items:
                self.r.error(item, "a time interval needs a name and time_intervals")
                continue
            name = self.r.scalar(items["name"][1], "str")
            periods = [self._period(p) for p in self.r.sequence(items["time_intervals"][1], "time_intervals")]
            if name is not None and all(p is not None for p in periods):
                out.append(TimeInterval(name, tuple(p for p in periods if p is not None)))
        return tuple(out)

    def _period(self, node: Node) -> Period | None:
        r = self.r
        items = r.mapping(node, "a period", ("times", "weekdays", "days_of_month", "months", "location"))
        if items is None:
            return None
        before = len(r.errors)
        fields: dict[str, Any] = {}
        if "location" in items:
            loc = r.scalar(items["location"][1], "str")
            if loc is not None:
                try:
                    ZoneInfo(loc)
                    fields["location"] = loc
                except (ZoneInfoNotFoundError, ValueError):
                    r.error(items["location"][1],
                            f"unknown time zone {loc!r} (use an IANA name, e.g. Asia/Shanghai)")
        if "times" in items:
            times = []
            for t in r.sequence(items["times"][1], "times"):
                span = r.mapping(t, "a time range", ("start_time", "end_time"))
                if span is None or set(span) != {"start_time", "end_time"}:
                    r.error(t, "a time range needs start_time and end_time")
                    continue
                try:
                    start = parse_time(str(r.python(span["start_time"][1])))
                    end = parse_time(str(r.python(span["end_time"][1])))
                except ValueError as exc:
                    r.error(t, str(exc))
                    continue
                if end <= start:
                    r.error(t, "end_time must be after start_time (split a range across midnight in two)")
                times.append((start, end))
            fields["times"] = tuple(times)
        for key, names, lo, hi in (("weekdays", WEEKDAYS, 1, 0), ("months", MONTHS, 1, 12),
                                   ("days_of_month", None, -31, 31)):
            if key not in items:
                continue
            spans = []
            for text in r.strings(items[key][1], key) or ():
                try:
                    spans.append(parse_range(str(text), names, lo, hi))
                except ValueError as exc:
                    r.error(items[key][1], f"{key}: {exc}")
            if key == "days_of_month":
                fields[key] = tuple(spans)
            else:
                fields[key] = frozenset(v for a, b in spans for v in range(a, b + 1))
        return Period(**fields) if len(r.errors) == before else None
