"""One registry of detector kinds (``detectors/registry.py``); everything else derives from it.

Adding a kind is one module in ``services/alerts/core/detectors/`` and one line in the registry:
these tests fail when a kind module is not registered, and show that the rules-file reader, the
wire form and the snapshot's union of tracks follow the registry and the classes without a list
of their own.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import typing

import msgspec
import pytest

from services.alerts.core import detectors, load_rules
from services.alerts.core.detectors.base import Detector, DetectorTrack
from services.alerts.core.detectors.registry import DETECTORS, KINDS, TRACKS
from services.alerts.core.detectors.tracks import SiteTracks, Track
from services.alerts.core.rules.wire import rule_doc


def _kind_classes() -> set[type[Detector]]:
    found: set[type[Detector]] = set()
    for info in pkgutil.iter_modules(detectors.__path__):
        module = importlib.import_module(f"{detectors.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Detector) and value.kind:
                found.add(value)
    return found


def test_every_kind_module_is_registered() -> None:
    assert _kind_classes() == set(DETECTORS)
    assert len(KINDS) == len(DETECTORS), "two classes claim the same kind"
    assert all(cls.about for cls in DETECTORS), "every kind says what it watches (the wire form)"


def test_the_snapshot_union_of_tracks_is_the_registry_s() -> None:
    assert set(typing.get_args(Track)) == {cls.track for cls in DETECTORS if cls.track is not None}
    assert set(TRACKS) == set(typing.get_args(Track))
    stored = SiteTracks({cls.kind: cls.track() for cls in DETECTORS if cls.track is not None})
    back = msgspec.json.decode(msgspec.json.encode(stored), type=SiteTracks)
    assert {n: type(t) for n, t in back.tracks.items()} == {n: type(t) for n, t in stored.tracks.items()}
    assert all(isinstance(t, DetectorTrack) for t in back.tracks.values())


def _durations(cls: type[Detector]) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if "Duration" in str(f.type)}


def test_duration_fields_are_the_ones_typed_duration() -> None:
    # what the rules-file reader took as durations when it kept its own list of field names
    every = set().union(*(_durations(cls) for cls in DETECTORS))
    assert every == {
        "for_s", "keep_firing_for", "escalate_after", "recent", "half_life", "silent", "max_lag",
        "min_elapsed", "window", "min_ready", "wrap", "not_ready",
    }


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.kind)
def test_the_rules_file_reads_every_duration_field_as_a_duration(cls: type[Detector]) -> None:
    keys = {"for_s": "for"}
    fields = [f for f in sorted(_durations(cls)) if f != "not_ready"]
    body = "".join(f"    {keys.get(f, f)}: 10m\n" for f in fields)
    if cls.kind == "agent_state":
        body += "    not_ready: {break: 10m}\n"
    rs = load_rules(f"rules:\n  - name: r\n    kind: {cls.kind}\n{body}")
    (rule,) = (r for r in rs.rules if r.name == "r")
    assert {f: getattr(rule, f) for f in fields} == dict.fromkeys(fields, 600.0)
    if cls.kind == "agent_state":
        assert rule.not_ready == (("break", 600.0),)  # type: ignore[attr-defined]
    assert rule_doc(rule, ())["description"].startswith(cls.about)
