"""The reports' configuration from the process settings: ``FLOORWATCH_REPORT_SETTINGS`` (sites'
business days, shifts, costs) and the rules file's ``projects:`` (targets, which calls count,
success codes) and ``definitions:`` (how the floor counts: the live engine reads the same file)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from services.alerts.reload import read_rules_file
from services.reports.core.config import ProjectTarget, ReportConfig
from services.reports.store import ReportStore
from shared.config import Settings
from shared.db import make_engine


def report_config(settings: Settings) -> ReportConfig:
    projects: tuple[ProjectTarget, ...] = ()
    definitions = None
    if settings.rules_file is not None:
        rules = read_rules_file(settings.rules_file)
        projects = tuple(ProjectTarget(p.name, p.target, p.campaigns, p.queues, p.site,
                                       success_codes=p.success_codes)
                         for p in rules.projects)
        definitions = rules.definitions
    data = orjson.loads(settings.report_settings) if settings.report_settings else None
    return ReportConfig.from_json(data, projects=projects, definitions=definitions)


def report_store(settings: Settings, engine: AsyncEngine, **kwargs: Any) -> ReportStore:
    """The reports' store over ``engine`` (the events' database), its roll-ups where
    ``settings.rollups_url`` says (beside a SQLite file, a file of their own)."""
    url = settings.rollups_url
    rollups = None if url == settings.database_url else make_engine(url)
    return ReportStore(engine, report_config(settings), rollups=rollups, **kwargs)
