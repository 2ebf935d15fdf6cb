"""The notifier's Prometheus metrics (one registry per process, passed in)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class NotifyMetrics:
    transitions: Counter
    bad_records: Counter
    template_errors: Counter
    notifications: Counter
    attempts: Counter
    duration: Histogram
    delay: Histogram
    backlog: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> NotifyMetrics:
        return cls(
            transitions=Counter("floorwatch_notify_transitions", "Alert transitions consumed by the notifier",
                                registry=registry),
            bad_records=Counter("floorwatch_notify_bad_records",
                                "Records on the alerts topic the notifier could not read", registry=registry),
            template_errors=Counter("floorwatch_notify_template_errors",
                                    "Renderings of a receiver's template that failed (the default was used)",
                                    registry=registry),
            notifications=Counter("floorwatch_notify_notifications",
                                  "Messages decided, by route and receiver",
                                  ["route", "receiver"], registry=registry),
            attempts=Counter("floorwatch_notify_attempts",
                             "Delivery attempts by route, receiver, kind and outcome",
                             ["route", "receiver", "kind", "outcome"], registry=registry),
            duration=Histogram("floorwatch_notify_attempt_seconds", "Time one delivery attempt took",
                               ["receiver", "kind"], registry=registry),
            delay=Histogram("floorwatch_notify_delivery_delay_seconds",
                            "From the decision to send to the delivery", ["receiver"], registry=registry,
                            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)),
            backlog=Gauge("floorwatch_notify_backlog_messages", "Undelivered messages per receiver",
                          ["receiver"], registry=registry),
        )
