"""The one registry of detector kinds: adding a detector is one module in this package and one
line here. What the rest of the core knows of the kinds derives from it and from the classes:
the rules-file reader (``KINDS``, field types), the rule set's wire form (``Detector.about``,
the fields), the snapshot's tagged union of tracks (``TRACKS``, ``tracks.py``).

``Rule`` is every rule the engine runs: the threshold rule (``threshold.py``, the default kind of
the rules file) or a detector kind (``base.py``).
"""

from __future__ import annotations

from typing import Final

from .agent_efficiency import AgentEfficiencyRule
from .agent_state import AgentStateRule
from .aht_spike import AhtSpikeRule
from .base import Detector, DetectorTrack
from .freshness import FreshnessRule
from .occupancy import OccupancyRule
from .progress_lag import ProgressLagRule
from .seats import SeatsRule
from .threshold import ThresholdRule

DETECTORS: Final[tuple[type[Detector], ...]] = (
    AhtSpikeRule,
    OccupancyRule,
    SeatsRule,
    AgentEfficiencyRule,
    AgentStateRule,
    ProgressLagRule,
    FreshnessRule,
)
KINDS: Final[dict[str, type[Detector]]] = {cls.kind: cls for cls in DETECTORS}
TRACKS: Final[tuple[type[DetectorTrack], ...]] = tuple(
    dict.fromkeys(cls.track for cls in DETECTORS if cls.track is not None)
)

Rule = ThresholdRule | Detector
