"""Which routes an alert goes to: Alertmanager's routing tree walk, plus ``escalate_to``.

A node matches when its matchers do; then its children are tried in order and the first one
that matches takes the alert (a child with ``continue: true`` lets the following siblings try
too). When no child matches, the node itself is the route. An escalated alert (``escalated``)
is also delivered through the route each matched route names in ``escalate_to``.
"""

from __future__ import annotations

from .config import NotifyConfig, Route
from .matchers import all_match


def match_route(route: Route, labels: dict[str, str]) -> list[Route]:
    if not all_match(route.matchers, labels):
        return []
    out: list[Route] = []
    for child in route.routes:
        hit = match_route(child, labels)
        if hit:
            out.extend(hit)
            if not child.continue_:
                break
    return out or [route]


def routes_for(config: NotifyConfig, labels: dict[str, str], *, escalated: bool = False) -> list[Route]:
    """The routes, in tree order and without repeats, that an alert with ``labels`` takes."""
    matched = match_route(config.route, labels)
    if escalated:
        for route in list(matched):
            if route.escalate_to is not None:
                target = config.route_named(route.escalate_to)
                if target is not None:
                    matched.append(target)
    seen: set[str] = set()
    unique = []
    for route in matched:
        if route.name not in seen:
            seen.add(route.name)
            unique.append(route)
    return unique


def group_labels(route: Route, labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The labels that name the alert's group on ``route`` (``group_by: ['...']`` = every label)."""
    if route.group_all:
        return tuple(sorted(labels.items()))
    return tuple((k, labels.get(k, "")) for k in route.group_by)


def group_key(route: Route, labels: tuple[tuple[str, str], ...]) -> str:
    """Alertmanager's shape: ``{}/<route>:{name="value", …}``."""
    inner = ", ".join(f'{k}="{v}"' for k, v in labels)
    return f"{{}}/{route.name}:{{{inner}}}"
