"""Per-site state of the detector kinds: one track per rule (by rule name), persisted in snapshots.

A track is a tagged msgspec Struct of the type its kind names (``Detector.track``); the engine
creates it when the rule first sees the site and keeps it across ``replace_rules`` while a rule of
the same name and kind exists. ``Track``, what a snapshot decodes a track into, is the union of the
track types of every kind in ``registry.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

import msgspec

from .base import DetectorTrack
from .registry import TRACKS

if TYPE_CHECKING:
    Track = DetectorTrack
else:  # msgspec decodes a tagged union; the registry says which types belong to it
    Track = Union[TRACKS]  # noqa: UP007 - a union built from a tuple of types


class SiteTracks(msgspec.Struct):
    tracks: dict[str, Track] = msgspec.field(default_factory=dict)
