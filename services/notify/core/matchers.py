"""Label matchers as Alertmanager writes them: ``name="value"``, ``name!=v``, ``name=~re``, ``name!~re``.

Regular expressions are anchored (the whole value must match), as in Alertmanager. A label that
is absent matches as the empty string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

_MATCHER_RE: Final = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$')


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # one of = != =~ !~
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def matches(self, labels: dict[str, str]) -> bool:
        got = labels.get(self.name, "")
        if self.op == "=":
            return got == self.value
        if self.op == "!=":
            return got != self.value
        assert self._regex is not None
        hit = self._regex.fullmatch(got) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


def parse_matcher(text: str) -> Matcher:
    """One matcher from ``text``; raises ``ValueError`` saying what is wrong."""
    m = _MATCHER_RE.match(text)
    if m is None:
        raise ValueError(f'bad matcher {text!r}: use name="value", name!="value", name=~"regex" '
                         'or name!~"regex"')
    name, op, raw = m.groups()
    value = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'" else raw
    regex = None
    if op in ("=~", "!~"):
        try:
            regex = re.compile(value)
        except re.error as exc:
            raise ValueError(f"bad regular expression in matcher {text!r}: {exc}") from exc
    return Matcher(name, op, value, regex)


def equal(name: str, value: str) -> Matcher:
    return Matcher(name, "=", value)


def all_match(matchers: tuple[Matcher, ...], labels: dict[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)
