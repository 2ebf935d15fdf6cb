"""The pure reports core: calendars and definitions, the roll-up fold, the report formulas.

No I/O, no clock (enforced by import-linter). See ``docs/reports.md``.
"""

from services.reports.core.calendar import SiteCalendar
from services.reports.core.definitions import Definitions, DefinitionSet
from services.reports.core.rollup import (
    COUNTERS,
    FollowUp,
    OutcomeKey,
    RollupKey,
    Rollups,
    Span,
    fold,
)

__all__ = [
    "COUNTERS",
    "DefinitionSet",
    "Definitions",
    "FollowUp",
    "OutcomeKey",
    "RollupKey",
    "Rollups",
    "SiteCalendar",
    "Span",
    "fold",
]
