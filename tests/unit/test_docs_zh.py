"""The Chinese docs stay in step with the English ones (issue 15, *Docs*).

``docs/zh-CN/rules.md`` and ``docs/zh-CN/metrics.md`` are translations of ``docs/rules.md`` and
``docs/metrics.md``: the same headings (count, levels, order, the code spans in them), the same fenced
code blocks (count and text: code is not translated), per section the same number of table rows and
list items, and every inline code span of an English section (metric names, keys, formulas) present in
the matching Chinese section. ``README.zh-CN.md`` gives the two
commands, and every ``floorwatch …`` command line in it is one the project's own CLI parser accepts.
"""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from floorwatch.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
PAGES = ("rules.md", "metrics.md")

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_SHELL = {">", ">>", "|", "&&", ";"}


@dataclass
class Section:
    level: int
    title: str
    code: list[str]  # the inline code spans of the heading, in order
    lines: list[str] = field(default_factory=list)  # the section's text outside fenced code blocks

    @property
    def spans(self) -> set[str]:
        """The inline code spans of the section's text (a span may run over a line break)."""
        return set(code_spans(" ".join(line.strip() for line in self.lines)))


@dataclass
class Page:
    sections: list[Section]  # the first is the text before any heading (level 0)
    fences: list[str]  # the fenced code blocks, their text


def code_spans(text: str) -> list[str]:
    return [" ".join(m.group(2).split()) for m in _CODE_SPAN.finditer(text)]


def parse(text: str) -> Page:
    sections = [Section(0, "", [])]
    fences: list[str] = []
    block: list[str] | None = None
    for line in text.splitlines():
        if _FENCE.match(line):
            if block is None:
                block = []
            else:
                fences.append("\n".join(block))
                block = None
            continue
        if block is not None:
            block.append(line)
            continue
        m = _HEADING.match(line)
        if m:
            sections.append(Section(len(m.group(1)), m.group(2), code_spans(m.group(2))))
        else:
            sections[-1].lines.append(line)
    assert block is None, "a fenced code block is not closed"
    return Page(sections, fences)


def table_rows(section: Section) -> int:
    return sum(1 for line in section.lines if line.lstrip().startswith("|"))


def list_items(section: Section) -> int:
    return sum(1 for line in section.lines if re.match(r"\s*([*+-]|\d+\.) ", line))


def structure_problems(english: str, chinese: str) -> list[str]:
    """What differs between an English page and its Chinese version; [] when they are in step."""
    en, zh = parse(english), parse(chinese)
    problems: list[str] = []
    en_heads = [(s.level, s.code) for s in en.sections[1:]]
    zh_heads = [(s.level, s.code) for s in zh.sections[1:]]
    if len(en_heads) != len(zh_heads):
        problems.append(f"{len(en_heads)} headings in English, {len(zh_heads)} in Chinese")
    for i, (e, z) in enumerate(zip(en.sections, zh.sections, strict=False)):
        if e.level != z.level:
            problems.append(f"heading {i} {e.title!r}: level {e.level} in English, {z.level} in Chinese")
        if e.code != z.code:
            problems.append(f"heading {i} {e.title!r}: code {e.code} in English, {z.code} in Chinese")
        for what, count in (("table rows", table_rows), ("list items", list_items)):
            if count(e) != count(z):
                problems.append(f"section {e.title!r}: {count(e)} {what} in English, {count(z)} in Chinese")
        missing = e.spans - z.spans
        if missing:
            problems.append(f"section {e.title!r}: code spans missing in Chinese: {sorted(missing)}")
    if len(en.fences) != len(zh.fences):
        problems.append(f"{len(en.fences)} fenced code blocks in English, {len(zh.fences)} in Chinese")
    for i, (e_block, z_block) in enumerate(zip(en.fences, zh.fences, strict=False)):
        if e_block != z_block:
            problems.append(f"fenced code block {i + 1} differs from the English one")
    return problems


def read(path: str) -> str:
    return (REPO / path).read_text(encoding="utf-8")


@pytest.mark.parametrize("page", PAGES)
def test_chinese_page_has_the_english_structure(page: str) -> None:
    english, chinese = read(f"docs/{page}"), read(f"docs/zh-CN/{page}")
    assert len(parse(english).sections) > 5  # the parser finds the headings at all
    assert structure_problems(english, chinese) == []


@pytest.mark.parametrize("page", PAGES)
def test_a_section_added_to_the_english_page_only_is_caught(page: str) -> None:
    english, chinese = read(f"docs/{page}"), read(f"docs/zh-CN/{page}")
    added = english + "\n## `new_kind` - a section only in English\n\nSome text with `new_key`.\n"
    problems = structure_problems(added, chinese)
    assert any("headings in English" in p for p in problems), problems


@pytest.mark.parametrize("page", PAGES)
def test_other_drift_is_caught(page: str) -> None:
    english, chinese = read(f"docs/{page}"), read(f"docs/zh-CN/{page}")
    en = parse(english)
    # a heading demoted one level in English only
    head = next(s for s in en.sections[1:] if s.level == 2)
    demoted = english.replace(f"\n## {head.title}\n", f"\n### {head.title}\n", 1)
    assert any("level 3 in English, 2 in Chinese" in p for p in structure_problems(demoted, chinese))
    # a code block added, a code block changed, a metric name added to a section's text
    fenced = english + "\n```yaml\nrules: []\n```\n"
    assert any("fenced code blocks" in p for p in structure_problems(fenced, chinese))
    if en.fences:  # metrics.md has none
        first = en.fences[0]
        changed = english.replace(first, first + "\n# one more line", 1)
        assert any("block 1 differs" in p for p in structure_problems(changed, chinese))
    spans = english + "\nAlso `brand_new_metric`.\n"
    assert any("brand_new_metric" in p for p in structure_problems(spans, chinese))
    # a table row and a list item added to the last section
    rows = english + "\n| a | b |\n|---|---|\n| c | d |\n"
    assert any("table rows in English" in p for p in structure_problems(rows, chinese))
    items = english + "\n* one more point\n"
    assert any("list items in English" in p for p in structure_problems(items, chinese))


def test_english_pages_point_at_the_chinese_ones() -> None:
    for page in PAGES:
        assert f"zh-CN/{page}" in read(f"docs/{page}")
        assert f"../{page}" in read(f"docs/zh-CN/{page}")


# -- README.zh-CN.md --------------------------------------------------------------------------------


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def floorwatch_lines(text: str) -> list[str]:
    """Every command line that runs floorwatch: in the code blocks (comments cut) and inline code."""
    lines: list[str] = []
    inside = False
    for line in text.splitlines():
        if _FENCE.match(line):
            inside = not inside
            continue
        if inside:
            command = line.split("  #")[0].strip()
            if command.startswith("floorwatch "):
                lines.append(command)
        else:
            lines += [span for span in code_spans(line) if span.startswith("floorwatch ")]
    return lines


def test_readme_zh_links_both_ways_and_gives_the_two_commands() -> None:
    zh, en = read("README.zh-CN.md"), read("README.md")
    head_zh, head_en = "\n".join(zh.splitlines()[:5]), "\n".join(en.splitlines()[:5])
    assert "(README.md)" in head_zh
    assert "(README.zh-CN.md)" in head_en
    fenced = "\n".join(parse(zh).fences)
    assert re.search(r"^make run\b", fenced, re.M)
    assert re.search(r"^make test\b", fenced, re.M)


def test_every_floorwatch_subcommand_in_readme_zh_is_real() -> None:
    zh = read("README.zh-CN.md")
    parser = build_parser()
    top = subcommands(parser)
    mentioned = re.findall(r"floorwatch ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", zh)
    assert len(mentioned) >= 5
    for first, second in mentioned:
        assert first in top, f"`floorwatch {first}` is not a subcommand (known: {sorted(top)})"
        nested = subcommands(top[first])
        if nested and second:
            assert second in nested, f"`floorwatch {first} {second}`: known {sorted(nested)}"


def test_every_floorwatch_command_line_in_readme_zh_parses() -> None:
    lines = floorwatch_lines(read("README.zh-CN.md"))
    assert len(lines) >= 3
    for line in lines:
        words = shlex.split(line)
        ends = [i for i, w in enumerate(words) if w in _SHELL]  # `> rules.yaml`: the shell's, not ours
        argv = words[1 : ends[0] if ends else None]
        try:
            build_parser().parse_args(argv)
        except (SystemExit, argparse.ArgumentError, ValueError) as exc:  # an unknown flag, a bad value
            pytest.fail(f"`{line}` is refused by floorwatch's parser ({exc!r})")


def test_the_command_line_check_can_fail() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["up", "--no-such-flag"])
    assert "up" in subcommands(build_parser()) and "launch" not in subcommands(build_parser())
