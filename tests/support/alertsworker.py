"""An alerts shell (``AlertsWorker``) over stubs, with the real alert store where it counts: what
the handover tests and ``benchmarks/handover_check.py`` share."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry

from services.alerts.service import AlertsMetrics, AlertsWorker
from services.alerts.store import AlertStore


class CountingStore(AlertStore):
    """The real store, counting how often the history is asked."""

    asked = 0

    async def known_transitions(self, ids: Any) -> set[str]:
        self.asked += 1
        return await super().known_transitions(ids)


def shell(**given: Any) -> AlertsWorker:
    """A worker on topics ``events`` / ``control`` / ``alerts`` / ``floor``, no periodic snapshot,
    2 s of lateness; ``given`` sets the rest (consumer, producer, store, loop, rules, clocks)."""
    w = AlertsWorker(**{
        "events_topic": "events",
        "control_topic": "control",
        "alerts_topic": "alerts",
        "floor_topic": "floor",
        "metrics": AlertsMetrics.create(CollectorRegistry()),
        "floor_interval_s": 0.5,
        "snapshot_interval_s": 1e9,
        "allowed_lateness_s": 2,
        **given,
    })
    w._measure_lag = lambda mono: None  # type: ignore[method-assign]  # no broker offsets here
    return w
