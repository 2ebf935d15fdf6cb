"""A YAML document as plain data plus the position of every value and key in the text.

``compose(text)`` parses with PyYAML's safe loader into the node tree, then builds plain data
(dicts with string keys, lists, scalars) while remembering each node's start mark by *path*
(the tuple of keys and indexes from the root, the same shape as a pydantic error's ``loc``).
A validator then works on plain data, and its errors are mapped back to ``line:column`` with
:meth:`YamlDoc.mark` / :meth:`YamlDoc.key_mark` (``yamlmodel.py`` does that for pydantic).

What plain data cannot say is kept as :attr:`YamlDoc.problems`: mapping keys that are not
strings (dropped) and duplicate keys (the first one wins). A scalar YAML 1.1 reads as a base-60
integer (an unquoted ``10:30`` is 630) is a :class:`Sexagesimal`, an ``int`` that keeps its text,
so that a reader expecting a time of day can still see ``10:30``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Path = tuple[str | int, ...]
_INT_TAG: Final = "tag:yaml.org,2002:int"
_MERGE_TAG: Final = "tag:yaml.org,2002:merge"
MAX_DEPTH: Final = 64  # no configuration nests deeper; deeper input is refused, not recursed into
# Aliases are copied into the plain data, so a few lines of nested aliases can stand for billions of
# values ("billion laughs"); a document that expands to more is refused before it is built.
MAX_NODES: Final = 100_000


class Sexagesimal(int):
    """An integer YAML 1.1 read in base 60 (``10:30`` -> 630); ``text`` is what was written."""

    text: str

    def __new__(cls, value: int, text: str) -> Sexagesimal:
        self = super().__new__(cls, value)
        self.text = text
        return self


@dataclass(frozen=True, slots=True)
class Mark:
    """A position in the text, both counted from 1."""

    line: int
    column: int


@dataclass(frozen=True, slots=True)
class DocProblem:
    """A mapping key plain data cannot hold: ``kind`` is ``non_string`` or ``duplicate`` (then
    ``first`` is the line of the key kept). ``path`` is the mapping's path."""

    path: Path
    mark: Mark
    kind: Literal["non_string", "duplicate"]
    key: str = ""
    first: int = 0


class YamlSyntaxError(ValueError):
    """The text is not YAML; ``line`` (from 1) and ``message`` say where and what."""

    def __init__(self, line: int, column: int, message: str) -> None:
        self.line, self.column, self.message = line, column, message
        super().__init__(f"line {line}: {message}")


@dataclass(slots=True)
class YamlDoc:
    data: Any
    marks: dict[Path, Mark] = field(default_factory=dict)  # path -> its value's position
    key_marks: dict[Path, Mark] = field(default_factory=dict)  # path -> its key's position
    problems: list[DocProblem] = field(default_factory=list)

    def get(self, path: Path) -> Any:
        """The value at ``path`` (which must exist)."""
        value = self.data
        for part in path:
            value = value[part]
        return value

    def resolve(self, loc: tuple[str | int, ...]) -> Path:
        """The longest path into the data that ``loc`` names. Elements that name nothing are
        skipped: a discriminated union's tag, or a key the data lacks (a missing key)."""
        value, path = self.data, []
        for part in loc:
            in_dict = isinstance(value, dict) and isinstance(part, str) and part in value
            in_list = isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
            if not (in_dict or in_list):
                continue
            value = value[part]
            path.append(part)
        return tuple(path)

    def mark(self, path: Path) -> Mark:
        """Where the value at ``path`` (or its nearest recorded ancestor) starts."""
        while path not in self.marks:
            path = path[:-1]
        return self.marks[path]

    def key_mark(self, path: Path) -> Mark:
        """Where the key of the mapping entry at ``path`` starts (its value's mark if none)."""
        return self.key_marks.get(path) or self.mark(path)


def _mark(node: Node) -> Mark:
    return Mark(int(node.start_mark.line) + 1, int(node.start_mark.column) + 1)


class _Builder:
    def __init__(self, doc: YamlDoc) -> None:
        self.doc = doc
        self.loader = yaml.SafeLoader("")
        self.active: set[int] = set()  # nodes being built: an alias cycle must not recurse forever
        self.merging = 0  # merges being built: each is one level deeper, at the same path
        self.nodes = 0  # values built so far, aliases counted at every use

    def build(self, node: Node, path: Path) -> Any:
        self.doc.marks[path] = _mark(node)
        self._enter(node, len(path))
        if isinstance(node, ScalarNode):
            value = self._scalar(node)
            if node.tag == _INT_TAG and isinstance(value, int) and ":" in str(node.value):
                return Sexagesimal(value, str(node.value))
            return value
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            assert isinstance(node, MappingNode)
            return self._mapping(node, path)
        finally:
            self.active.discard(id(node))

    def _enter(self, node: Node, depth: int) -> None:
        """The guards every value and every merged mapping passes before it is built."""
        self.nodes += 1
        if self.nodes > MAX_NODES:
            message = f"YAML error: aliases expand the document to more than {MAX_NODES} values"
            raise YamlSyntaxError(*_pair(node), message)
        if depth + self.merging > MAX_DEPTH:
            raise YamlSyntaxError(*_pair(node), f"YAML error: nested more than {MAX_DEPTH} levels deep")
        if id(node) in self.active:
            raise YamlSyntaxError(*_pair(node), "a recursive alias (*name inside &name) is not supported")

    def _scalar(self, node: ScalarNode) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, TypeError, yaml.YAMLError) as exc:  # e.g. !!float abc
            message = f"YAML error: cannot read {node.value!r} as {node.tag}: {exc}"
            raise YamlSyntaxError(*_pair(node), message) from None

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:  # "<<: *defaults": the keys of another mapping
                merges += value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                continue
            key = self._scalar(key_node) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                self.doc.problems.append(DocProblem(path, _mark(key_node), "non_string"))
                continue
            if key in out:
                first = self.doc.key_marks[(*path, key)].line
                self.doc.problems.append(DocProblem(path, _mark(key_node), "duplicate", key, first))
                continue
            self.doc.key_marks[(*path, key)] = _mark(key_node)
            out[key] = self.build(value_node, (*path, key))
        for merged in merges:  # keys written in the mapping itself win, then the first merge
            if not isinstance(merged, MappingNode):
                raise YamlSyntaxError(*_pair(merged), "YAML error: << merges a mapping or a list of mappings")
            for key, value in self._merged(merged, path).items():
                out.setdefault(key, value)
        return out

    def _merged(self, node: MappingNode, path: Path) -> dict[str, Any]:
        """The keys of a ``<<`` mapping, under the same guards as any value: a merge of the mapping
        being built is a cycle, and each merge inside a merge is one level deeper."""
        self._enter(node, len(path) + 1)
        self.active.add(id(node))
        self.merging += 1
        try:
            return self._mapping(node, path)
        finally:
            self.merging -= 1
            self.active.discard(id(node))


def _pair(node: Node) -> tuple[int, int]:
    mark = _mark(node)
    return mark.line, mark.column


def compose(text: str) -> YamlDoc | None:
    """The document in ``text`` (None when it holds no document); raises :class:`YamlSyntaxError`."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:  # PyYAML composes recursively: thousands of nested brackets
        raise YamlSyntaxError(1, 1, f"YAML error: nested more than {MAX_DEPTH} levels deep") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise YamlSyntaxError(line, column, f"YAML syntax error: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(1, 1, f"YAML error: {exc}") from None
    if root is None:
        return None
    doc = YamlDoc(None)
    try:
        doc.data = _Builder(doc).build(root, ())
    except yaml.constructor.ConstructorError as exc:  # e.g. a bad !!binary: a scalar that is no value
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise YamlSyntaxError(line, column, f"YAML error: {exc.problem}") from None
    return doc
