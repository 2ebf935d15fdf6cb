"""The pure core of the floor engine, in layers that read as the data flows (low to high):

``floor/`` (events -> live floor state, KPIs, metrics) and ``lifecycle.py`` (one alert's
pending -> firing -> resolved), ``detectors/`` (the rules' conditions over the floor),
``alerting/`` (decisions -> published records: inhibition, escalation, grouping, silences),
``rules/`` (the rule set, the defaults, the rules-file reader, the wire form), ``engine/``.
A layer imports only from layers below it (import-linter, ``pyproject.toml``); no import cycle.

No I/O, no clock, no logging: time comes in as parameters and decisions go out as values.
The shell (``services/alerts/service.py``) drives :class:`Engine`; see ``engine/engine.py`` for
the call order. What is exported here is the core's public surface.
"""

from .alerting.transition import Transition
from .detectors.threshold import Guard, ThresholdRule
from .engine.engine import Engine, EventRefused
from .floor.kpis import FloorConfig
from .rules.defaults import default_rules
from .rules.reader import RulesError, load_rules, parse_duration
from .rules.ruleset import RuleSet

__all__ = [
    "Engine",
    "EventRefused",
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
