"""Per-site state of the detector kinds: one track per rule (by rule name), persisted in snapshots.

A track is a tagged msgspec Struct owned by its rule (``rule.new_track()``); the engine creates it
when the rule first sees the site and keeps it across ``replace_rules`` while a rule of the same
name and kind exists.
"""

from __future__ import annotations

import msgspec

from .aht import AhtTrack
from .efficiency import AgentTracks
from .freshness import SourceTrack
from .progress import ProgressTrack

Track = AhtTrack | AgentTracks | SourceTrack | ProgressTrack


class SiteStats(msgspec.Struct):
    tracks: dict[str, Track] = msgspec.field(default_factory=dict)
