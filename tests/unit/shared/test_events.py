"""The canonical event v1 contract (design.md): required fields, versions, extras, reasons."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.events import (
    MAX_SECONDS,
    CallAnswered,
    CallWrapped,
    InvalidEvent,
    decode_event,
    encode_event,
    event_type,
)
from shared.schema_export import render

BASE = {"v": 1, "id": "e1", "source": "pbx", "ts": "2026-11-28T09:15:02.123+08:00", "site": "bj-01"}


def ev(**fields: object) -> bytes:
    return orjson.dumps({**BASE, **fields})


def test_valid_event_is_typed_and_time_aware() -> None:
    got = decode_event(ev(type="call.answered", call="c1", queue="sales", agent="a1", wait_s=3))
    assert isinstance(got, CallAnswered)
    assert got.ts.utcoffset() == dt.timedelta(hours=8)
    assert got.wait_s == 3.0
    assert event_type(got) == "call.answered"


def test_unknown_extra_fields_are_accepted() -> None:
    got = decode_event(ev(type="agent.logout", agent="a1", vendor={"x": [1, 2]}, future_field=True))
    assert got.agent == "a1"


def test_nested_outcome() -> None:
    got = decode_event(
        ev(type="call.wrapped", call="c1", agent="a1", outcome={"code": "sale", "success": True})
    )
    assert isinstance(got, CallWrapped) and got.outcome is not None and got.outcome.success is True


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{", "not valid JSON"),
        (b'"hello"', "must be a JSON object"),
        (ev(type="call.answered", call="c1", queue="sales"), "missing required field `agent`"),
        (ev(type="call.vanished", call="c1"), "unknown event type 'call.vanished'"),
        (
            orjson.dumps(
                {k: v for k, v in BASE.items() if k != "site"} | {"type": "agent.logout", "agent": "a"}
            ),
            "missing required field `site`",
        ),
        (ev(type="agent.logout", agent="a", v=2), "unsupported schema version"),
        (ev(type="agent.logout", agent="a", ts="2026-11-28 09:15"), "RFC3339"),
        (ev(type="agent.logout", agent="a", ts="2026-11-28T09:15:02"), "UTC offset"),
        (ev(type="agent.state", agent="a", state="dancing"), "`$.state`"),
        (ev(type="call.answered", call="c1", queue="q", agent="a", wait_s=-1), "`$.wait_s`"),
        (ev(type="agent.logout", agent="a", id="x" * 129), "`$.id`"),
        (ev(type="agent.logout", agent="a", site=""), "`$.site`"),
        (ev(type="agent.logout", agent=7), "Expected `str`"),
        (ev(type="agent.logout", agent="a", site="bj\x0001"), "must not contain NUL"),
        # every other text too: they become report rows, and one stopped every report refresh
        (ev(type="agent.logout", agent="a\x00"), "agent must not contain NUL"),
        (ev(type="agent.login", agent="a", queues=["q", "r\x00"]), "queues must not contain NUL"),
        (ev(type="agent.login", agent="a", team="\x00"), "team must not contain NUL"),
        (ev(type="agent.state", agent="a", state="not_ready", reason="x\x00"), "reason must not contain NUL"),
        (ev(type="call.queued", call="c", queue="q\x00"), "queue must not contain NUL"),
        (ev(type="call.wrapped", call="c", agent="a", outcome={"code": "\x00"}), "outcome.code must not"),
        (ev(type="call.wrapped", call="c", agent="a", outcome={"code": "x", "reason": "r\x00"}),
         "outcome.reason must not"),
        # the reports convert it to the site's zone: year 1 overflowed and stopped its day's refreshes
        (ev(type="call.wrapped", call="c", agent="a",
            outcome={"code": "x", "follow_up_at": "0001-01-01T00:00:00+01:00"}),
         "follow_up_at must lie within 1980-01-01 .. 2100-01-01"),
        (ev(type="call.wrapped", call="c", agent="a",
            outcome={"code": "x", "follow_up_at": "2026-12-01T09:00:00"}),
         "follow_up_at must carry a UTC offset"),
        (ev(type=["agent.logout"], agent="a"), "unknown event type"),  # was a TypeError (unhashable)
    ],
)
def test_invalid_events_say_why(payload: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent) as err:
        decode_event(payload)
    assert reason in str(err.value)


def test_text_that_only_looks_like_a_nul_escape_is_kept() -> None:
    # a backslash followed by "u0000" is six ordinary characters; NUL in an unknown extra field is
    # the reader's to handle (the reports strip it from a contact)
    got = decode_event(ev(type="agent.logout", agent="a\\u0000", contact="x\x00"))
    assert got.agent == "a\\u0000"  # type: ignore[union-attr]


def test_size_limit() -> None:
    with pytest.raises(InvalidEvent, match="payload too large"):
        decode_event(ev(type="agent.logout", agent="a", pad="x" * 2000), max_bytes=1024)


# NUL is refused in every text field (database keys and report rows): every other character
# round-trips.
TEXT = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))


@given(st.text(TEXT, min_size=1, max_size=64), st.text(TEXT, min_size=1, max_size=128),
       st.floats(0, MAX_SECONDS))
def test_encode_decode_round_trip(site: str, call: str, wait: float) -> None:
    original = CallAnswered(
        v=1,
        id="e",
        source="s",
        ts=dt.datetime(2026, 11, 28, 1, tzinfo=dt.UTC),
        site=site,
        call=call,
        queue="q",
        agent="a",
        wait_s=wait,
    )
    assert decode_event(encode_event(original)) == original


def test_exported_schema_is_current() -> None:
    doc = Path(__file__).resolve().parents[3] / "docs" / "event-schema.json"
    assert doc.read_text(encoding="utf-8") == render(), (
        "run: python -m shared.schema_export docs/event-schema.json"
    )
