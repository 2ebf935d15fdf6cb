"""The replay reader and the tolerant JSON it uses, on hand-written files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.ingest.adapters import ADAPTERS, FORMATS, get_adapter
from services.ingest.adapters.jsonc import loads_tolerant, split_records, strip_comments
from services.ingest.vendor_files import iter_records
from shared.events import InvalidEvent


def test_comments_with_wrapped_prose_and_urls_in_strings() -> None:
    text = (
        '{\n  "a": "https://example.test/x", // the address; this note\n'
        "      wraps onto a second line of prose\n"
        '  "b": [1, 2,], // trailing comma\n'
        "  // a whole-line note\n"
        '  "c": {"d": true,},\n}\n'
    )
    assert loads_tolerant(text) == {"a": "https://example.test/x", "b": [1, 2], "c": {"d": True}}
    assert "wraps" not in strip_comments(text)


def test_a_stray_closing_brace_is_removed_where_the_indentation_says() -> None:
    text = (
        "{\n"
        '    "outer": {\n'
        '        "first": {"x": 1}\n'
        "    },\n"  # closes "outer" too early: the keys below are indented as its members
        '        "second": 2,\n'
        '        "third": 3\n'
        "    },\n"
        '    "after": 4\n'
        "}\n"
    )
    assert loads_tolerant(text) == {"outer": {"first": {"x": 1}, "second": 2, "third": 3}, "after": 4}


def test_an_array_element_beyond_repair_comes_out_raw() -> None:
    out = list(split_records('[{"a": 1}, {"b": oops}, {"c": 3,}]'))
    assert out[0] == b'{"a":1}' and out[2] == b'{"c":3}'
    assert out[1] == b'{"b": oops}'
    with pytest.raises(InvalidEvent, match="not valid JSON"):
        get_adapter("amazon-connect-ctr", site="s", source="t").decode(out[1])


def test_json_lines_and_concatenated_objects() -> None:
    assert list(split_records('{"a": 1}\n{"b": 2}\n')) == [b'{"a":1}', b'{"b":2}']
    assert list(split_records('{"a": 1}\n\n{"b": 2,}')) == [b'{"a":1}', b'{"b":2}']


def test_line_formats_skip_headers_blank_lines_and_crlf(tmp_path: Path) -> None:
    bank = tmp_path / "bank.txt"
    bank.write_bytes(b"vru+line\tcall_id\r\nrow-1\r\n\r\nrow-2\r\n")
    assert [v for _, v in iter_records(bank, "anonymous-bank")] == [b"row-1", b"row-2"]
    ql = tmp_path / "queue_log.csv"
    ql.write_bytes(b"uid,date_time,callid\n1,2,3\n")
    assert list(iter_records(ql, "asterisk-queue-log")) == [(None, b"1,2,3")]
    canonical = tmp_path / "events.jsonl"
    canonical.write_text('{"v": 1}\n\n{"v": 1, "x": 2}\n')
    assert len(list(iter_records(canonical, "canonical"))) == 2


def test_connect_files_become_one_strict_record_each(tmp_path: Path) -> None:
    f = tmp_path / "sample.jsonc"
    f.write_text('// a doc sample\n[\n  {"EventType": "LOGIN", // note\n   "EventId": "e1",},\n]\n')
    ((key, value),) = list(iter_records(f, "amazon-connect-agent"))
    assert key is None and json.loads(value) == {"EventType": "LOGIN", "EventId": "e1"}


def test_every_adapter_has_a_reader_format_and_unknowns_are_refused(tmp_path: Path) -> None:
    assert set(ADAPTERS) == set(FORMATS)
    with pytest.raises(ValueError, match="unknown format"):
        list(iter_records(tmp_path / "x", "freeswitch"))
    with pytest.raises(ValueError, match="unknown adapter"):
        get_adapter("freeswitch", site="s", source="t")
    with pytest.raises(ValueError, match="bad options"):
        get_adapter("anonymous-bank", site="s", source="t", timezone="UTC")
    with pytest.raises(ValueError, match="site"):
        get_adapter("asterisk-ami", site="", source="t")


def test_canonical_passes_events_through() -> None:
    a = get_adapter("canonical", site="ignored", source="ignored")
    raw = (
        b'{"v":1,"id":"e1","source":"sim","type":"agent.logout",'
        b'"ts":"2026-01-01T08:00:00+08:00","site":"bj","agent":"a1"}'
    )
    (ev,) = a.decode(raw)
    assert ev.site == "bj" and ev.source == "sim"
    with pytest.raises(InvalidEvent, match="unknown event type"):
        a.decode(raw.replace(b"agent.logout", b"agent.nap"))


def test_the_adapter_layer_does_no_io() -> None:
    # Issue 8, section 5: files.py read files inside the pure adapter layer; the reading is now
    # services/ingest/vendor_files.py's, and the splitter takes the content.
    import re

    import services.ingest.adapters as package

    io = re.compile(r"\bopen\(|\.read_bytes\(|\.read_text\(|\.open\(|\bpathlib\b|\bos\.")
    for path in Path(package.__file__).parent.glob("*.py"):
        found = [line for line in path.read_text(encoding="utf-8").splitlines() if io.search(line)]
        assert not found, (path.name, found)


def test_split_records_takes_content_not_a_path() -> None:
    from services.ingest.adapters import split_records

    lines = [b"\xef\xbb\xbfuid,callid\r\n", b"1,2,3\r\n", b"\n", b"4,5,6"]
    assert list(split_records(lines, "asterisk-queue-log")) == [(None, b"1,2,3"), (None, b"4,5,6")]
    assert list(split_records([b'[{"a": 1},', b' {"b": 2,}]'], "amazon-connect-ctr")) == [
        (None, b'{"a":1}'), (None, b'{"b":2}')]


def test_json_nested_deeper_than_the_parser_goes_comes_out_raw() -> None:
    # json.loads raises RecursionError at about 1,000 levels; until 2026-12-07 it escaped
    # split_records and stopped `floorwatch replay` / `stats` on such a file.
    deep = "[" * 100_000 + "]" * 100_000
    assert list(split_records(deep)) == [deep.encode()]
    out = list(split_records('[{"a": 1}, ' + deep + "]"))
    assert out == [b'{"a":1}', deep.encode()]
    with pytest.raises(InvalidEvent, match="nested too deep"):
        get_adapter("amazon-connect-ctr", site="s", source="t").decode(out[1])
