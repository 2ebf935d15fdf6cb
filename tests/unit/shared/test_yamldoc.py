"""shared/yamldoc.py, yamlmodel.py, yamltypes.py: YAML as plain data with every position, and
pydantic errors worded at those positions."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import TypeAdapter

from shared import yamldoc
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


def _merge_chain(length: int) -> str:
    """``a1`` merges ``a0``, ``a2`` merges ``a1``…: merges nested ``length`` deep at one path."""
    lines = ["a0: &a0 {k: 1}"] + [f"a{i}: &a{i} {{<<: *a{i - 1}}}" for i in range(1, length + 1)]
    return "\n".join(lines) + "\n"


def _laughs(levels: int) -> str:
    """Each line ten aliases of the one before: ``10 ** levels`` values in a few hundred bytes."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "line", "start"),
    [
        ("x: &a {k: 1, <<: *a}\n", 1, "a recursive alias"),  # a mapping merging itself
        (_merge_chain(1500), 1, "YAML error: nested more than 64 levels deep"),
        (_laughs(8), 1, "YAML error: aliases expand the document to more than 100000 values"),
    ],
)
def test_merges_and_aliases_are_refused_with_a_reason_not_a_crash(text: str, line: int, start: str) -> None:
    with pytest.raises(YamlSyntaxError) as info:
        compose(text)
    assert info.value.line == line and info.value.message.startswith(start)


def test_up_to_the_bounds_merges_and_aliases_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = compose(_merge_chain(60) + "b: &b [1, 2]\nc: [*b, *b]\n")
    assert doc is not None
    assert doc.data["a60"] == {"k": 1} and doc.data["c"] == [[1, 2], [1, 2]]
    doc = compose(_laughs(3))  # 12,345 values
    assert doc is not None and doc.data["a3"][9][9][9] == ["x"] * 10
    monkeypatch.setattr(yamldoc, "MAX_NODES", 100)  # the bound itself, on a small document
    assert compose("[" + "0, " * 99 + "]") is not None  # 100 values with the list
    with pytest.raises(YamlSyntaxError, match="more than 100 values"):
        compose("[" + "0, " * 100 + "]")
