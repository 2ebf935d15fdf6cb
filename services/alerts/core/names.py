"""Names shared by every rule kind: valid rule names and severities (low to high)."""

from __future__ import annotations

import re
from typing import Final

SEVERITIES: Final = ("info", "warning", "critical")
NAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
