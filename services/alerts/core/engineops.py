"""The engine's reads, operator actions and persistence (see ``engine.py`` for the call order).

Split from :class:`~.engine.Engine` only to keep modules small: ``Engine`` subclasses this.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import msgspec

from .alerting.actions import acknowledge, covered_by
from .alerting.grouping import Grouper
from .alerting.labels import alert_labels
from .alerting.publishing import Publisher
from .alerting.records import AlertRecords
from .alerting.silences import Silence
from .alerting.transition import Transition
from .detectors.base import Ctx
from .detectors.progress_lag import ProgressLagRule
from .detectors.registry import Rule
from .detectors.tracks import SiteTracks
from .floor.recent import RecentKeys
from .floor.reducer import Floor
from .floor.site_view import floor_snapshot
from .floor.times import epoch
from .lifecycle import AlertState, Key, ThresholdAlert


class EngineState(msgspec.Struct):
    """Everything :meth:`Engine.snapshot` persists (rules are configuration, passed to restore)."""

    floor: Floor
    alerts: list[AlertState]
    book: AlertRecords
    dedup: RecentKeys
    grid: dict[str, int]
    duplicates: int
    lateness: float
    version: int = 1
    stats: dict[str, SiteTracks] = msgspec.field(default_factory=dict)  # detector tracks per site
    wakes: dict[str, dict[str, float]] = msgspec.field(default_factory=dict)  # site -> wake key -> time
    groups: dict[str, str] = msgspec.field(default_factory=dict)  # alerting/grouping.py: member -> team


class EngineOps:
    _floor: Floor
    _records: AlertRecords
    _dedup: RecentKeys
    _grid: dict[str, int]
    _alerts: dict[Key, ThresholdAlert]
    _pending: dict[str, dict[Key, ThresholdAlert]]
    _by_fp: dict[str, Key]
    _dirty: set[str]
    _stats: dict[str, SiteTracks]
    _ctx: dict[str, Ctx]
    _wakes: dict[str, dict[str, float]]
    _heap: dict[str, list[tuple[float, str]]]
    _rules: dict[str, Rule]
    _publisher: Publisher
    _groups: Grouper
    duplicates: int
    lateness: float

    def _new_ctx(self, site: str) -> Ctx:
        raise NotImplementedError

    # -- reads and operator actions ------------------------------------------------------------

    def pop_dirty_sites(self) -> set[str]:
        """Sites whose floor changed since the previous call."""
        dirty, self._dirty = self._dirty, set()
        return dirty

    def sites(self) -> list[str]:
        return list(self._floor.sites)

    def floor_snapshot(self, site: str, now: dt.datetime | None = None) -> dict[str, Any]:
        """``FloorSnapshot`` of ``site`` at ``now`` (default: the site's latest event time)."""
        s = self._floor.peek(site)
        t = s.latest if now is None else epoch(now)
        snap = floor_snapshot(s, self._floor.config, t)
        snap["projects"] = self.project_progress(site, t)
        return snap

    def project_progress(self, site: str, now: float) -> list[dict[str, Any]]:
        """The site's projects against plan at epoch ``now`` (``floor/project_view.py``); the successes
        are those the first ``progress_lag`` rule counts (rules files with projects get one)."""
        ctx = self._ctx.get(site)
        rule = next((r for r in self._rules.values() if isinstance(r, ProgressLagRule)), None)
        return [] if ctx is None or rule is None else rule.progress(ctx, now)

    @property
    def floor(self) -> Floor:
        """The live floor state (read-only by contract)."""
        return self._floor

    def active_alerts(self) -> list[dict[str, Any]]:
        """Wire dicts of pending and firing alerts, in order of first activation."""
        return [
            self._records.current(self._rules[m.st.rule], m.st, self._floor.sites[m.st.site].tz).to_wire()
            for m in self._alerts.values()
        ]

    def ack(self, fingerprint: str, *, by: str, at: dt.datetime, note: str = "") -> list[Transition]:
        """Acknowledge an active alert: its record, then for a group alert one per member grouped
        into it and not acknowledged yet (``alerting/actions.py``); empty when no such alert is active."""
        key = self._by_fp.get(fingerprint)
        if key is None:
            return []
        tz = self._floor.sites[self._alerts[key].st.site].tz
        return acknowledge(
            self._records, self._rules, self._alerts, self._groups, key, by=by, at=epoch(at), note=note, tz=tz
        )

    def silence(
        self,
        matchers: Mapping[str, str],
        *,
        until: dt.datetime,
        at: dt.datetime,
        by: str = "",
        comment: str = "",
        silence_id: str | None = None,
    ) -> list[Transition]:
        """Silence alerts whose labels match until ``until``; one record per active alert it covers.
        Later transitions of matching alerts carry ``silenced_until`` while the silence lasts."""
        sil = self._records.silence(
            matchers, until=epoch(until), at=epoch(at), by=by, comment=comment, silence_id=silence_id
        )
        return self._covered_by(sil, at)

    def unsilence(self, silence_id: str, *, at: dt.datetime) -> list[Transition]:
        """End a silence early; one record per active alert it covered (now without it)."""
        sil = self._records.unsilence(silence_id)
        return [] if sil is None else self._covered_by(sil, at)

    def _covered_by(self, sil: Silence, at: dt.datetime) -> list[Transition]:
        tz = {site: s.tz for site, s in self._floor.sites.items()}
        return covered_by(self._records, self._rules, self._alerts, sil, epoch(at), tz)

    # -- persistence ---------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """All state as JSON bytes; ``Engine.restore(data, rules)`` continues exactly from here."""
        state = EngineState(
            floor=self._floor,
            alerts=[m.st for m in self._alerts.values()],
            book=self._records,
            dedup=self._dedup,
            grid=self._grid,
            duplicates=self.duplicates,
            lateness=self.lateness,
            stats=self._stats,
            wakes=self._wakes,
            groups=self._groups.state(),
        )
        return msgspec.json.encode(state)

    def alert_labels(self, fingerprint: str) -> dict[str, str] | None:
        """Labels of an active alert (what silences match), or None."""
        key = self._by_fp.get(fingerprint)
        if key is None:
            return None
        st = self._alerts[key].st
        return alert_labels(self._rules[st.rule], st)
