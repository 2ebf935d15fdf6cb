"""The API's collaborators for one app instance, built by ``create_app`` and held on ``app.state``."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from services.api.alarm import WallboardSound
from services.api.audit import AuditLog
from services.api.auth import Authenticator
from services.api.hub import Hub, HubOptions
from services.api.metrics import ApiMetrics
from services.api.notifications import NotificationLog
from services.api.ports import CommandSink, Feed
from services.api.state import LiveState
from shared.config import Settings
from shared.i18n import SiteLanguages

if TYPE_CHECKING:
    from services.reports.store import ReportStore


@dataclass(frozen=True, slots=True)
class ApiOptions:
    hub: HubOptions = field(default_factory=HubOptions)
    drain_timeout_s: float = 5.0  # shutdown: how long the pump and the writers get to finish
    resume_wait_s: float = 5.0  # a connection opened with ?session= waits this long for its resume op
    max_client_message_bytes: int = 64 * 1024
    reap_interval_s: float = 1.0
    # how often held WebSocket sessions are checked against the token store, so that a token revoked
    # elsewhere (``floorwatch tokens revoke``, another API instance) loses its connections too
    revalidate_interval_s: float = 5.0


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(slots=True)
class Runtime:
    settings: Settings
    options: ApiOptions
    registry: CollectorRegistry
    metrics: ApiMetrics
    hub: Hub
    auth: Authenticator
    feed: Feed
    commands: CommandSink
    audit: AuditLog
    clock: Callable[[], dt.datetime] = utcnow
    pump: asyncio.Task[None] | None = None
    pump_error: str | None = None
    stopping: bool = False
    # the hub may write to connections directly (direct.py): FLOORWATCH_API_FAST_PATH, and the
    # private attributes it reads checked when the lifespan starts
    fast_path: bool = True
    # `floorwatch up`: the other services' metrics, appended to this API's /metrics (one target)
    metrics_relay: Callable[[], Awaitable[bytes]] | None = None
    # the notifier's delivery log (/v1/notifications); None: no database, an empty list
    notifications: NotificationLog | None = None
    # the wallboard's audible alarm (/v1/wallboard/sound), from the notifier's file
    sound: WallboardSound = field(default_factory=lambda: WallboardSound(None))
    # the report roll-ups (services/reports); None: reports and handover answer 503
    reports: ReportStore | None = None
    # the readers' default language per site (rules file) and for all (FLOORWATCH_LANGUAGE)
    languages: SiteLanguages = field(default_factory=SiteLanguages)

    @property
    def live(self) -> LiveState:
        return self.hub.live
