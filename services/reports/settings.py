"""The reports' configuration from the process settings: ``FLOORWATCH_REPORT_SETTINGS`` (sites'
business days, shifts, costs) and the rules file's ``projects:`` (targets, which calls count,
success codes) and ``definitions:`` (how the floor counts: the live engine reads the same file)."""

from __future__ import annotations

import orjson

from services.alerts.core.rules.reader import load_rules
from services.reports.core.config import ProjectTarget, ReportConfig
from shared.config import Settings


def report_config(settings: Settings) -> ReportConfig:
    projects: tuple[ProjectTarget, ...] = ()
    definitions = None
    if settings.rules_file is not None:
        rules = load_rules(settings.rules_file.read_text(encoding="utf-8"), name=str(settings.rules_file))
        projects = tuple(ProjectTarget(p.name, p.target, p.campaigns, p.queues, p.site,
                                       success_codes=p.success_codes)
                         for p in rules.projects)
        definitions = rules.definitions
    data = orjson.loads(settings.report_settings) if settings.report_settings else None
    return ReportConfig.from_json(data, projects=projects, definitions=definitions)
