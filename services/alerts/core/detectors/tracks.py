"""Per-site state of the detector kinds: one track per rule (by rule name), persisted in snapshots.

A track is a tagged msgspec Struct owned by its rule (``rule.new_track()``); the engine creates it
when the rule first sees the site and keeps it across ``replace_rules`` while a rule of the same
name and kind exists.
"""

from __future__ import annotations

import msgspec

from .agent_efficiency import AgentTracks
from .aht_spike import AhtTrack
from .freshness import SourceTrack
from .progress_lag import ProgressTrack

Track = AhtTrack | AgentTracks | SourceTrack | ProgressTrack


class SiteTracks(msgspec.Struct):
    tracks: dict[str, Track] = msgspec.field(default_factory=dict)
