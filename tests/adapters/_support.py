"""Helpers for adapter tests: where the real vendor files are, and decoding a whole file."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from services.ingest.adapters import Adapter
from services.ingest.vendor_files import iter_records
from shared.events import Event, InvalidEvent, decode_event, encode_event, event_type
from tests.conftest import REAL_DATA


def real_file(rel: str) -> Path:
    """A real vendor file from ``../shared/data``; skipped when absent (a user's clone), failed in CI."""
    path = REAL_DATA / rel
    if not path.is_file():
        reason = (
            f"real vendor data {path} is absent: it lives beside the checkout in ../shared/data "
            "and is not redistributed with the project"
        )
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{reason} (CI=true: CI must have it)")
        pytest.skip(reason)
    return path


@dataclass
class Decoded:
    records: int = 0
    events: list[Event] = field(default_factory=list)
    rejected: list[tuple[bytes, str]] = field(default_factory=list)
    empty: int = 0  # records deliberately mapped to no event

    def count(self) -> Counter[str]:
        return Counter(event_type(e) for e in self.events)

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if event_type(e) == kind]

    def ids(self) -> list[str]:
        return [e.id for e in self.events]


def decode_all(adapter: Adapter, records: Iterable[tuple[bytes | None, bytes]]) -> Decoded:
    out = Decoded()
    for key, value in records:
        out.records += 1
        try:
            events = adapter.decode(value, key)
        except InvalidEvent as exc:
            out.rejected.append((value, str(exc)))
            continue
        out.empty += not events
        out.events.extend(events)
    return out


def decode_file(adapter: Adapter, path: Path, fmt: str) -> Decoded:
    return decode_all(adapter, iter_records(path, fmt))


def assert_round_trip(events: Iterable[Event]) -> None:
    """Every event survives the wire: encode → decode gives the same event."""
    for ev in events:
        assert decode_event(encode_event(ev)) == ev, ev
