"""The pure core of the floor engine: floor state, KPIs, rules, alert lifecycle, engine.

No I/O, no clock, no logging: time comes in as parameters and decisions go out as values.
The shell (``services/alerts/service.py``) drives :class:`Engine`; see ``engine.py`` for the
call order.
"""

from .alerting.transition import Transition
from .detectors.threshold import Guard, ThresholdRule
from .engine import Engine
from .floor.kpis import FloorConfig
from .rules.defaults import default_rules
from .rules.reader import RulesError, load_rules, parse_duration
from .rules.ruleset import RuleSet

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
