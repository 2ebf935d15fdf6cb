"""Settings for every service: one pydantic-settings model, read from ``FLOORWATCH_*`` env vars.

Built once in each composition root (``main.py`` / the CLI) and passed down; nothing reads the
environment at import time, and nothing else reads ``FLOORWATCH_*`` variables. Command-line flags
that override a setting are declared with :func:`setting_flag`, which names the field they set.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SourceSpec(BaseModel):
    """A vendor raw topic: which adapter reads it, and the site/source its events belong to."""

    topic: str
    adapter: str
    site: str
    source: str
    options: dict[str, Any] = Field(default_factory=dict)


DEFAULT_TOPIC_PREFIX = "floorwatch."


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLOORWATCH_", extra="ignore")

    # Process
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL")
    log_format: Literal["auto", "json", "text"] = Field(
        "auto", description="auto: text on a terminal, JSON lines otherwise"
    )
    api_workers: int = Field(1, ge=1, description="API processes serving the port (`floorwatch api`)")
    alerts_processes: int = Field(
        1, ge=1, description="`floorwatch alerts` processes `floorwatch up` runs in one consumer group")

    # Kafka
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="HOST:PORT[,HOST:PORT…]")
    topic_prefix: str = DEFAULT_TOPIC_PREFIX
    raw_topics: list[str] = Field(
        default_factory=list, description="canonical raw topics; default: <prefix>raw.v1"
    )
    sources: list[SourceSpec] = Field(default_factory=list, description="vendor topics with their adapters")
    # Tansu does not answer a parked fetch when data arrives (Apache Kafka does): it looks again
    # after half the time left, then half of the rest, ... so a record waits up to half of this
    # per hop there (docs/benchmarks.md). Each empty fetch costs kafka-python ~2 ms of CPU: at
    # 10 ms a consumer burns ~20 % of a core idle, at 25 ms ~12 %.
    fetch_max_wait_ms: int = Field(25, ge=1, le=500)
    # A consumer-group join waits up to the rebalance timeout (= max poll interval) on Tansu: keep it short.
    max_poll_interval_ms: int = Field(5_000, ge=1000)
    session_timeout_ms: int = Field(6_000, ge=1000)
    partitions: int = Field(3, ge=1, description="partitions for topics Floorwatch creates")

    # Database
    database_url: str = "sqlite+aiosqlite:///./floorwatch.db"
    # the report roll-ups' database; unset: beside a SQLite file a file of its own
    # (floorwatch-reports.db: SQLite locks per file), else the database above (shared.db.rollups_url)
    reports_database_url: str | None = None

    # API
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    admin_token: str | None = None
    # WebSocket fast path (services/api/direct.py): off = every frame goes through its writer task
    api_fast_path: bool = True
    # largest request body the API reads (413 above); the token is checked before any of it is read
    api_max_body_bytes: int = Field(64 * 1024, ge=1024)
    # the site's default language for the pages, notifications and API error texts (issue 15):
    # a token's own language comes first, the reader's browser after this
    language: Literal["zh", "en"] | None = Field(None, description="zh or en; default: the reader's browser")
    # the API checkpoints the active alerts of each alerts partition this often (docs/api.md,
    # *Start-up*); 0 = never write one (an API still starts from the checkpoints others wrote)
    api_checkpoint_s: float = Field(60.0, ge=0)

    # Engine
    rules_file: Path | None = None
    # `up --simulate` without a rules file: the simulator's projects (JSON list of rules-file
    # `projects:` entries) added to the built-in rules, so the demo shows progress against plan
    demo_projects: str | None = None
    floor_interval_s: float = Field(0.5, gt=0)
    snapshot_interval_s: float = Field(5.0, gt=0)
    # encode periodic engine snapshots in a forked child (services/alerts/forked.py) instead of
    # holding up the engine's consumer thread for the encoding; false: encode in that thread
    snapshot_fork: bool = True
    allowed_lateness_s: float = Field(2.0, ge=0)
    # Bounded work (issue 9): a site's clock jumping further than the horizon lands instead of
    # stepping second by second; one engine (partition) holds at most engine_max_sites sites; an
    # engine step (one batch, one tick) longer than engine_stall_s makes /readyz fail
    engine_horizon_s: int = Field(3600, ge=60)
    engine_max_sites: int = Field(10_000, ge=1)
    engine_stall_s: float = Field(15.0, gt=0)

    # Notifier (docs/notifications.md)
    notify_config: Path | None = Field(
        None, description="notifications file; `up` runs the notifier when it is set")
    external_url: str = Field("", description="the API's public URL, for links in notifications")
    notify_timeout_s: float = Field(10.0, gt=0, description="time limit of one delivery attempt")
    notify_give_up_s: float = Field(24 * 3600.0, gt=0, description="a message undelivered this long fails")

    # Reports (docs/reports.md): per-site business day, shifts and costs as JSON, e.g.
    # {"sites": {"bj-01": {"tz": "Asia/Shanghai", "day_start": "06:00", "cost_per_hour": 45,
    #                       "shifts": {"day": ["08:00", "20:00"], "night": ["20:00", "08:00"]}}}}
    report_settings: str | None = None
    # how often the API folds newly stored events into the report roll-ups (0 = never; then run
    # `floorwatch reports refresh [--every S]` / `rebuild` yourself; `up` runs `--every` in a child
    # of its own with this period and sets it to 0 for its API)
    report_refresh_s: float = Field(60.0, ge=0)
    # the live fold (the API's, or `reports refresh --every`'s) holds back events younger than this
    # (than the clock, or the newest event when that is ahead), so that events stored a little out
    # of order (several partitions, ingest batches) do not force a whole-day re-fold; the roll-ups
    # then lag the newest event by this much (docs/reports.md, "Settling"; 0 = no wait)
    report_settle_s: float = Field(10.0, ge=0, le=3600)

    # Metrics (docs/metrics.md, "Prometheus")
    metrics_host: str = Field("127.0.0.1", description="address of the ingest / alerts /metrics server")
    metrics_agents: str = Field("", description="agents with per-agent series: comma-separated ids, or *")
    metrics_max_values: int = Field(
        500, ge=1, description="per site: queues, teams, sources with series of their own (rest: _other)"
    )

    # Ingest
    max_event_bytes: int = Field(64 * 1024, ge=256)
    ingest_batch: int = Field(2000, ge=1)
    # A database call of ingest that takes longer fails, and the batch is retried (docs/ingest.md):
    # without it, a database that stops answering (no reset, no refusal) would hang ingest.
    ingest_db_timeout_s: float = Field(10.0, gt=0, description="PostgreSQL connect/statement timeout")
    # The same for the alerts service's history and snapshots, and the notifier's commits: a
    # database that stops answering must not hold them forever (docs/reliability.md, *PostgreSQL outage*)
    alerts_db_timeout_s: float = Field(10.0, gt=0, description="PostgreSQL connect/statement timeout")
    # events dated further ahead of ingest's wall clock (and of the record's broker timestamp, when
    # later) than this go to the DLQ; 0 turns the bound off (docs/architecture.md, "Clocks and bounded work")
    max_future_skew_s: float = Field(300.0, ge=0)

    @field_validator("kafka_bootstrap")
    @classmethod
    def _hostport(cls, value: str) -> str:
        for part in value.split(","):
            host, sep, port = part.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"expected HOST:PORT, got {part!r}")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got {value!r}")
        return level

    @field_validator("database_url", "reports_database_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith(("postgresql://", "postgres://")):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        return value

    @property
    def rollups_url(self) -> str:
        """Where the report roll-ups are kept (``reports_database_url``, or derived)."""
        from shared.db import rollups_url

        return rollups_url(self.database_url, self.reports_database_url)

    def topic(self, name: str) -> str:
        """Full topic name: ``topic("events")`` -> ``floorwatch.events.v1``."""
        return f"{self.topic_prefix}{name}.v1"

    def group(self, name: str) -> str:
        """Consumer-group id of a service: ``floorwatch-ingest`` under the default topic prefix,
        else namespaced by the prefix (``acme.floorwatch-ingest``), so that two deployments
        sharing one Kafka cluster under different prefixes never share a group, its rebalances
        or its members."""
        if self.topic_prefix == DEFAULT_TOPIC_PREFIX:
            return name
        return f"{self.topic_prefix}{name}"

    @property
    def raw_topic_list(self) -> list[str]:
        return self.raw_topics or [self.topic("raw")]


# -- command-line flags --------------------------------------------------------------------------
SETTING = "setting__"  # argparse dest prefix of a flag that sets a Settings field


def setting_flag(p: argparse.ArgumentParser, *flags: str, field: str, help: str, **kwargs: Any) -> None:
    """A flag that overrides the :class:`Settings` field ``field`` (itself read from
    ``FLOORWATCH_<FIELD>``): configuration has one home, this module; a flag only names the
    field it sets. A flag not given leaves the field to the environment or its default."""
    if field not in Settings.model_fields:
        raise ValueError(f"{flags[0]}: Settings has no field {field!r}")
    kwargs.setdefault("metavar", flags[0].lstrip("-").upper().replace("-", "_"))
    p.add_argument(*flags, dest=SETTING + field, default=None,
                   help=f"{help} (env FLOORWATCH_{field.upper()})", **kwargs)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from the environment, overridden by the :func:`setting_flag` flags given."""
    given = {k.removeprefix(SETTING): v for k, v in vars(args).items()
             if k.startswith(SETTING) and v is not None}
    return Settings(**given)
