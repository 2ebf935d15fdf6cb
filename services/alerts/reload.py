"""Rules reload without restart: the shell watches the rules file and swaps in a new rule set
only when the whole file is valid; a bad edit is logged with every error and its line, and the
running rules stay in force. So does any other failure to load it (a bug in the reader): it is
logged with its reason and traceback, and the file is refused like a bad edit."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from services.alerts.core.rules.reader import RulesError, load_rules
from services.alerts.core.rules.ruleset import RuleSet

logger = logging.getLogger(__name__)


MAX_RULES_BYTES = 10 * 1024 * 1024  # a rules file is refused above this size (docs/rules.md)


class RulesUnreadable(ValueError):
    """A rules file that cannot be read as text at all (missing, a directory, not UTF-8, over
    :data:`MAX_RULES_BYTES`): the message says which file and why, in one line."""


def read_rules_file(path: Path) -> RuleSet:
    """The rule set of the file at ``path``; raises :class:`RulesError` (every problem with its
    line) or :class:`RulesUnreadable`. What every reader of the rules file uses: the alerts
    service at start and on reload, ``floorwatch up`` and the reports' configuration."""
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            # refused by its size before it is read; never more than the limit read (/dev/zero, growing)
            data = b"" if size > MAX_RULES_BYTES else fh.read(MAX_RULES_BYTES + 1)
            if size > MAX_RULES_BYTES or len(data) > MAX_RULES_BYTES:
                size = max(size, len(data))
                raise RulesUnreadable(
                    f"{path}: {size} bytes, over the {MAX_RULES_BYTES // 2**20} MiB a rules file may have"
                )
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as text mode reads it
    except UnicodeDecodeError as exc:
        raise RulesUnreadable(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise RulesUnreadable(f"{path}: cannot be read: {exc.strerror or exc}") from None
    return load_rules(text, name=str(path))


class RulesWatcher:
    def __init__(self, path: Path, *, interval_s: float = 2.0, clock: Callable[[], float]):
        self.path = path
        self.interval_s = interval_s
        self.clock = clock
        self._stamp = self._current_stamp()
        self._next_check = clock() + interval_s
        self.rejected = 0

    def _current_stamp(self) -> tuple[float, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime, st.st_size)

    def poll(self) -> RuleSet | None:
        """A new valid rule set if the file changed since the last look, else None."""
        now = self.clock()
        if now < self._next_check:
            return None
        self._next_check = now + self.interval_s
        stamp = self._current_stamp()
        if stamp is None or stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            ruleset = read_rules_file(self.path)
        except RulesError as exc:
            self.rejected += 1
            for line, message in exc.errors:
                logger.error("rules file %s:%s: %s", self.path, line, message)
            logger.error(
                "rules file %s refused (%d errors); the running rules stay", self.path, len(exc.errors)
            )
            return None
        except RulesUnreadable as exc:  # gone, or not UTF-8 text: refused like a bad edit
            self.rejected += 1
            logger.error("rules file unreadable: %s; the running rules stay", exc)
            return None
        except Exception as exc:  # a bug in the reader must not stop the engine: refuse the file
            self.rejected += 1
            logger.error(
                "rules file %s refused: %s: %s; the running rules stay",
                self.path,
                type(exc).__name__,
                exc,
                exc_info=exc,
            )
            return None
        logger.info("rules file %s reloaded: %d rules", self.path, len(ruleset.rules))
        return ruleset
