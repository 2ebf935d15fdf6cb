"""Tolerant JSON for replaying documentation samples and exports: comments, trailing commas, a stray brace.

Vendor documentation samples are "JSON with notes": ``//`` comments (whose prose sometimes wraps onto
the next line), trailing commas and, once, a misplaced ``}``. Live Kafka records are strict JSON and do
not come through here: this is for :func:`files.split_records`. Pure text functions, no I/O.

:func:`split_records` turns a file's text into one strict-JSON payload per record; a record that
still cannot be parsed is returned as its raw text, so the adapter rejects it with a reason instead
of the replay crashing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

__all__ = ["loads_tolerant", "remove_trailing_commas", "split_records", "strip_comments"]

_JSONISH = re.compile(r"""^\s*(?:["{}\[\],:\-0-9]|(?:true|false|null)\b)""")


def _comment_start(line: str) -> int:
    """Index of a ``//`` comment outside strings in one line, or -1 (JSON strings never span lines)."""
    in_str = False
    i = 0
    while i < len(line):
        c = line[i]
        if in_str:
            if c == "\\":
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c == "/" and line.startswith("//", i):
            return i
        i += 1
    return -1


def strip_comments(text: str) -> str:
    """Drop ``//`` comments and the prose lines a wrapped comment spills onto.

    A line right after a commented line that does not start like JSON (a quote, brace, bracket,
    comma, number or literal) is taken as the comment's continuation and dropped.
    """
    out: list[str] = []
    continuing = False
    for line in text.splitlines():
        if continuing and line.strip() and not _JSONISH.match(line):
            continue  # prose of the comment above, wrapped onto this line
        cut = _comment_start(line)
        if cut >= 0:
            line = line[:cut].rstrip()
            continuing = True
        else:
            continuing = False
        out.append(line)
    return "\n".join(out)


def _scan_outside_strings(text: str) -> Iterator[tuple[int, str]]:
    in_str = False
    escaped = False
    for i, c in enumerate(text):
        if in_str:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_str = False
            continue
        if c == '"':
            in_str = True
        yield i, c  # an opening quote is yielded (a value starts); string contents are not


def remove_trailing_commas(text: str) -> str:
    """``[1, 2,]`` → ``[1, 2]`` and ``{"a": 1,}`` → ``{"a": 1}``, leaving strings alone."""
    drop: set[int] = set()
    last_comma = -1
    for i, c in _scan_outside_strings(text):
        if c == ",":
            last_comma = i
        elif c in "}]":
            if last_comma >= 0:
                drop.add(last_comma)
            last_comma = -1
        elif not c.isspace():
            last_comma = -1
    return "".join(c for i, c in enumerate(text) if i not in drop)


def _indent(text: str, pos: int) -> int:
    start = text.rfind("\n", 0, pos) + 1
    line = text[start:]
    return len(line) - len(line.lstrip(" \t"))


def _stray_brace_candidates(text: str) -> list[int]:
    """Closing braces to try removing when a document has one ``}`` too many.

    A ``}`` followed by a key indented deeper than the brace itself is the likeliest stray: those
    keys were meant to stay inside the object it closes too early. Then the others, last first.
    """
    closes = [i for i, c in _scan_outside_strings(text) if c == "}"]
    suspicious: list[int] = []
    for pos in closes:
        nxt = re.compile(r"\s*,?\s*\n([ \t]*)\"").match(text, pos + 1)
        if nxt and len(nxt.group(1)) > _indent(text, pos):
            suspicious.append(pos)
    return suspicious + [p for p in reversed(closes) if p not in suspicious]


def loads_tolerant(text: str) -> Any:
    """Parse JSON-with-mess; raises ``ValueError`` (``json.JSONDecodeError``) when beyond repair.

    JSON nested deeper than the parser goes raises ``RecursionError`` (no repair here changes the
    nesting).
    """
    try:
        return json.loads(text)
    except ValueError:
        pass
    cleaned = remove_trailing_commas(strip_comments(text))
    try:
        return json.loads(cleaned)
    except ValueError as exc:
        first_error = exc
    opens = sum(1 for _, c in _scan_outside_strings(cleaned) if c == "{")
    closes = sum(1 for _, c in _scan_outside_strings(cleaned) if c == "}")
    if closes == opens + 1:
        for pos in _stray_brace_candidates(cleaned)[:64]:
            try:
                return json.loads(cleaned[:pos] + cleaned[pos + 1 :])
            except ValueError:
                continue
    raise first_error


def _top_level_chunks(text: str) -> list[str]:
    """Split a JSON array's elements, or concatenated top-level values, without parsing them."""
    body = text.strip()
    depth = 0
    start = 0
    chunks: list[str] = []
    in_array = body.startswith("[")
    base = 1 if in_array else 0
    for i, c in _scan_outside_strings(body):
        if c in "[{":
            depth += 1
            if depth == base + 1 and not in_array:
                start = i
            if in_array and depth == 1:
                start = i + 1
        elif c in "]}":
            depth -= 1
            if not in_array and depth == 0:
                chunks.append(body[start : i + 1])
                start = i + 1
            elif in_array and depth == 0:
                chunks.append(body[start:i])
        elif c == "," and in_array and depth == 1:
            chunks.append(body[start:i])
            start = i + 1
    if depth != 0 or (not chunks and body):
        return [body]
    return [ch.strip() for ch in chunks if ch.strip()]


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def split_records(text: str) -> Iterator[bytes]:
    """One strict-JSON payload per record: array elements, a lone object, or JSON Lines.

    Tries the whole document first (with repairs); when that fails, each element / object / line
    is parsed alone and the ones beyond repair come out as their raw text. So does JSON nested
    deeper than the parser goes (``RecursionError``): the adapter rejects it as too deep.
    """
    if not text.strip():
        return
    try:
        doc = loads_tolerant(text)
    except (ValueError, RecursionError):
        doc = None
    else:
        yield from (_dump(v) for v in (doc if isinstance(doc, list) else [doc]))
        return
    chunks = _top_level_chunks(remove_trailing_commas(strip_comments(text)))
    if len(chunks) == 1:
        chunks = [ln for ln in text.splitlines() if ln.strip()] or chunks
    for chunk in chunks:
        try:
            yield _dump(loads_tolerant(chunk))
        except (ValueError, RecursionError):
            yield chunk.encode()
