"""The rules-file reader: YAML text -> :class:`~..ruleset.RuleSet`, every error with its line.

Replaceable as a unit: the rest of the code uses only what this package exports.
``loader.py`` reads the file and its threshold rules, ``sections.py`` the detector rules,
``projects:``, ``inhibit:`` and ``group:``, ``nodes.py`` walks the YAML nodes and reads durations.
"""

from .loader import load_rules
from .nodes import RulesError, parse_duration

__all__ = ["RulesError", "load_rules", "parse_duration"]
