"""The pure core of the floor engine: floor state, KPIs, rules, alert lifecycle, engine.

No I/O, no clock, no logging: time comes in as parameters and decisions go out as values.
The shell (``services/alerts/service.py``) drives :class:`Engine`; see ``engine.py`` for the
call order.
"""

from .alerting.transition import Transition
from .defaults import default_rules
from .detectors.threshold import Guard, ThresholdRule
from .engine import Engine
from .floor.kpis import FloorConfig
from .rules import RuleSet
from .rulesfile import RulesError, load_rules, parse_duration

__all__ = [
    "Engine",
    "FloorConfig",
    "Guard",
    "RuleSet",
    "RulesError",
    "ThresholdRule",
    "Transition",
    "default_rules",
    "load_rules",
    "parse_duration",
]
