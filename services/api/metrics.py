"""The API's Prometheus metrics, registered on the registry passed in (one per process)."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.api.state import LiveState

MESSAGE_TYPES = ("hello", "alert", "floor", "resync", "heartbeat", "error", "pong")
DROP_REASONS = ("floor_coalesced", "alert_overflow", "session_expired")


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry, live: LiveState) -> None:
        self.ws_clients = Gauge("floorwatch_ws_clients", "WebSocket clients connected", registry=registry)
        self.ws_sessions = Gauge("floorwatch_ws_sessions", "WebSocket sessions held (connected or awaiting "
                                 "resume)", registry=registry)
        sent = Counter("floorwatch_ws_messages_sent", "WebSocket messages sent, by type", ["type"],
                       registry=registry)
        self.sent = {t: sent.labels(t) for t in MESSAGE_TYPES}
        dropped = Counter("floorwatch_ws_dropped", "Messages not delivered to a client, by reason "
                          "(floor_coalesced: replaced by a newer snapshot of the same site; alert_overflow: "
                          "replaced by a resync; session_expired: pending when a session expired)",
                          ["reason"], registry=registry)
        self.dropped = {r: dropped.labels(r) for r in DROP_REASONS}
        self.resyncs = Counter("floorwatch_ws_resyncs", "resync messages owed to lagging clients",
                               registry=registry)
        self.slow_closes = Counter("floorwatch_ws_slow_closes", "clients closed (4008) for staying too "
                                   "slow", registry=registry)
        self.fast_path = Gauge("floorwatch_api_fast_path", "1 when the hub writes WebSocket frames to "
                               "connections directly (docs/api.md, fast path), 0 when every frame goes "
                               "through its connection's writer", registry=registry)
        self.feed = Counter("floorwatch_feed_messages", "Feed records accepted, by kind", ["kind"],
                            registry=registry)
        self.feed_skipped = Counter("floorwatch_feed_skipped", "Feed records ignored, by kind and reason "
                                    "(invalid, duplicate, stale; failed: handling raised)",
                                    ["kind", "reason"],
                                    registry=registry)
        registry.register(LiveStateCollector(live))


class LiveStateCollector(Collector):
    """Reads the current state at scrape time."""

    def __init__(self, live: LiveState) -> None:
        self._live = live

    def collect(self) -> Iterator[GaugeMetricFamily]:
        active = GaugeMetricFamily("floorwatch_api_alerts_active", "Active alerts as seen by this API "
                                   "instance", labels=["site", "severity", "state"])
        tally = Tally(
            (str((a.get("scope") or {}).get("site")), str(a.get("severity")), str(a.get("state")))
            for a in self._live.alerts()
        )
        for labels, count in sorted(tally.items()):
            active.add_metric(list(labels), count)
        yield active
        ready = GaugeMetricFamily("floorwatch_api_ready", "1 once the feed has delivered or caught up")
        ready.add_metric([], 1.0 if self._live.ready else 0.0)
        yield ready
        sites = GaugeMetricFamily("floorwatch_api_floor_sites", "Sites with a floor snapshot")
        sites.add_metric([], len(self._live.sites()))
        yield sites
