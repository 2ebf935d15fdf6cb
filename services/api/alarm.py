"""The wallboard's audible alarm: from which severity it sounds and whether a quiet time mutes it
now — read from the notifier's file (``wallboard:`` and ``time_intervals:``), so the floor's
sound and its chat robots keep the same quiet times (docs/notifications.md).

The file is re-read when it changes; one that cannot be read leaves the alarm off and says why.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any, Final

import yaml

from shared.quiet_times import any_active, muting, next_change

logger = logging.getLogger(__name__)
SEVERITIES: Final = ("critical", "warning", "info")


class WallboardSound:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._mtime: float | None = None
        self._severity: str | None = None
        self._intervals: tuple[Any, ...] = ()
        self._error: str | None = None

    def _load(self) -> None:
        if self.path is None:
            return
        try:
            mtime = self.path.stat().st_mtime
        except OSError as exc:
            self._severity, self._error = None, f"cannot read {self.path}: {exc.strerror}"
            return
        if mtime == self._mtime:
            return
        self._mtime = mtime
        try:
            doc = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
            doc = doc.get("notifications", doc) if isinstance(doc, dict) else {}
            section = doc.get("wallboard") or {}
            sound = section.get("sound")
            self._severity = sound if sound in SEVERITIES else None
            self._intervals = muting(doc, list(section.get("mute_time_intervals") or []))
            self._error = None
        except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError) as exc:
            self._severity, self._intervals = None, ()
            self._error = f"{self.path}: {exc}"
            logger.warning("wallboard sound is off: %s", self._error)

    def state(self, now: dt.datetime) -> dict[str, Any]:
        """``severity`` (None: no sound), ``muted`` now, ``muted_until`` (RFC 3339) and ``error``."""
        self._load()
        at = now.timestamp()
        muted = bool(self._intervals) and any_active(self._intervals, at)
        until = next_change(self._intervals, at) if muted else None
        return {
            "severity": self._severity,
            "muted": muted,
            "muted_until": None if until is None else dt.datetime.fromtimestamp(until, dt.UTC).isoformat(),
            "error": self._error,
        }
