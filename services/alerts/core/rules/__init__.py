"""Rules configuration, the fourth layer of the alert core: which rules run, with what settings.

``ruleset.py`` is the rule set (rules, projects, inhibit rules); ``defaults.py`` the one active
without a rules file; ``reader/`` reads a rules file into a rule set, reporting every error with
its line, against pydantic models derived from the rule classes (a unit: its face is
``load_rules``, ``RulesError``, ``parse_duration`` and ``json_schema``);
``wire.py`` is the rule set as the wire document the alerts service publishes. The rules
themselves are ``detectors/``; what happens to their alerts is ``alerting/``.
"""
