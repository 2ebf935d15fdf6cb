"""The one registry of detector kinds: adding a detector is one module in this package and one
line here; the rules-file reader, the wire form and the engine's persisted tracks derive from it.

``Rule`` is every rule the engine runs: the threshold rule (``threshold.py``, the default kind of
the rules file) or a detector kind (``base.py``).
"""

from __future__ import annotations

from typing import Final

from .agent_efficiency import AgentEfficiencyRule
from .agent_state import AgentStateRule
from .aht_spike import AhtSpikeRule
from .base import Detector
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

Rule = ThresholdRule | Detector
