"""The rules-file reader: YAML text -> :class:`~..ruleset.RuleSet`, every error with its line.

Replaceable as a unit: the rest of the code uses only what this package exports.
``specs.py`` describes the file (pydantic models derived from the rule classes; its JSON Schema
is ``docs/rules-schema.json``), ``fields.py`` the YAML type of each rule field, ``sections.py``
``projects:`` and ``inhibit:``; ``loader.py`` reads a file against them.
"""

from shared.yamltypes import parse_duration

from .loader import RulesError, load_rules
from .specs import json_schema

__all__ = ["RulesError", "json_schema", "load_rules", "parse_duration"]
