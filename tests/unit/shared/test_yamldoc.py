"""shared/yamldoc.py, yamlmodel.py, yamltypes.py: YAML as plain data with every position, and
pydantic errors worded at those positions."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import TypeAdapter

from shared.yamldoc import Mark, Sexagesimal, YamlSyntaxError, compose
from shared.yamlmodel import YamlModel, doc_problems, validate
from shared.yamltypes import Duration, Str, StrMap, parse_duration

TEXT = """\
top:
  name: a
  when: 10:30
  items: [x, {k: 1}]
  name: again
  7: seven
"""


def test_data_and_positions() -> None:
    doc = compose(TEXT)
    assert doc is not None
    assert doc.data == {"top": {"name": "a", "when": 630, "items": ["x", {"k": 1}]}}
    assert doc.mark(("top", "when")) == Mark(3, 9)
    assert doc.key_mark(("top", "when")) == Mark(3, 3)
    assert doc.mark(("top", "items", 1, "k")) == Mark(4, 18)
    assert doc.mark(("top", "items", 1, "missing")) == Mark(4, 14)  # the nearest ancestor
    when = doc.get(("top", "when"))
    assert isinstance(when, Sexagesimal) and when.text == "10:30"  # YAML 1.1 base 60, text kept
    kinds = [(p.path, p.mark.line, p.kind, p.key, p.first) for p in doc.problems]
    assert kinds == [(("top",), 5, "duplicate", "name", 2), (("top",), 6, "non_string", "", 0)]


def test_resolve_skips_what_the_data_lacks() -> None:
    doc = compose("a: [{b: 1}]\n")
    assert doc is not None
    assert doc.resolve(("a", 0, "tag=x", "b")) == ("a", 0, "b")
    assert doc.resolve(("a", 3, "c")) == ("a",)


@pytest.mark.parametrize(
    ("text", "line", "start"),
    [
        ("a: [\n", 2, "YAML syntax error"),
        ("a: !!int x\n", 1, "YAML error: cannot read 'x'"),
        ("&a [*a]\n", 1, "a recursive"),
    ],
)
def test_not_yaml(text: str, line: int, start: str) -> None:
    with pytest.raises(YamlSyntaxError) as info:
        compose(text)
    assert info.value.line == line and info.value.message.startswith(start)


def test_empty_document() -> None:
    assert compose("# only a comment\n") is None


class Inner(YamlModel):
    noun: ClassVar[str] = "an inner"
    unknown_key: ClassVar[str] = "unknown key {key!r} in an inner; known: {known}"
    missing_key: ClassVar[str] = "an inner needs {key!r}"

    wait: Duration
    labels: StrMap = ()


class Outer(YamlModel):
    noun: ClassVar[str] = "the file"

    name: Str
    inner: tuple[Inner, ...] = ()


def test_errors_are_worded_at_their_positions() -> None:
    doc = compose(
        "name: 5\ninner:\n  - wait: soon\n    labels: [x]\n  - colour: red\n  - {wait: 1, wait: 2}\n"
    )
    assert doc is not None
    checked = validate(TypeAdapter(Outer), doc)
    assert checked.value is None
    got = sorted((p.line, p.column, p.message) for p in checked.problems + doc_problems(doc, checked.owners))
    assert got == [
        (1, 7, "expected a string, got int 5"),
        (3, 11, "bad duration 'soon': use seconds or e.g. 30s, 5m, 1h, 1m30s"),
        (4, 13, "labels must be a mapping"),
        (5, 5, "an inner needs 'wait'"),
        (5, 5, "unknown key 'colour' in an inner; known: wait, labels"),
        (6, 15, "an inner: duplicate key 'wait' (first on line 6)"),
    ]
    assert ("inner", 0, "wait") in checked.refused and ("inner", 1, "wait") in checked.refused


def test_valid_document() -> None:
    doc = compose("name: n\ninner: [{wait: 1m30s, labels: {a: b}}]\n")
    assert doc is not None
    checked = validate(TypeAdapter(Outer), doc)
    assert checked.problems == []
    assert checked.value.name == "n"
    assert [(x.wait, x.labels) for x in checked.value.inner] == [(90.0, (("a", "b"),))]


@pytest.mark.parametrize(("raw", "seconds"), [(30, 30.0), ("1m30s", 90.0), ("1.5h", 5400.0), (" 90 ", 90.0)])
def test_durations(raw: object, seconds: float) -> None:
    assert parse_duration(raw) == seconds
