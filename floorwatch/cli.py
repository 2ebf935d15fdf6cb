"""``floorwatch``: the command line. Each sub-command is a composition root of its own.

Settings come from ``FLOORWATCH_*`` environment variables; flags override them.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared.config import SETTING, Settings, setting_flag, settings_from_args

logger = logging.getLogger("floorwatch")


def _settings(args: argparse.Namespace) -> Settings:
    """The settings of this command: the environment, overridden by the flags given."""
    return settings_from_args(args)


def _schema_refused(command: str, settings: Settings) -> bool:
    """Whether the database is not at this release's schema; says so and how to fix it. A service
    alone does not migrate (several instances would race): ``floorwatch up`` and ``floorwatch db
    upgrade`` do."""
    from shared.db import shown_url
    from shared.migrate import schema_problem

    try:
        problem = schema_problem(settings.database_url)
    except Exception as exc:  # noqa: BLE001 -- any refusal: the service could not work either
        problem = f"the database cannot be read: {type(exc).__name__}: {exc}"[:500]
    if problem is None:
        return False
    print(f"floorwatch {command}: {problem} ({shown_url(settings.database_url)}). Migrate it first: "
          f"`floorwatch db upgrade` with the same database (--db or FLOORWATCH_DATABASE_URL); README, "
          f"*Running against real infrastructure*.", file=sys.stderr)
    return True


def _add_common(p: argparse.ArgumentParser, *, api: bool = False, rules: bool = False) -> None:
    setting_flag(p, "--kafka", field="kafka_bootstrap", metavar="HOST:PORT", help="Kafka bootstrap servers")
    setting_flag(p, "--db", field="database_url", metavar="URL",
                 help="database URL, e.g. postgresql+asyncpg://…")
    setting_flag(p, "--log-level", field="log_level", metavar="LEVEL",
                 help="DEBUG, INFO (default), WARNING, …")
    if api:
        setting_flag(p, "--host", field="host", help="API host (default 127.0.0.1)")
        setting_flag(p, "--port", field="port", type=int, help="API port (default 8000)")
    if rules:
        setting_flag(p, "--rules", field="rules_file", type=Path, metavar="FILE",
                     help="rules YAML (default: the built-in rule set)")


def load_ruleset(path: Path | None):  # type: ignore[no-untyped-def]
    """The rules file's rule set, or the built-in defaults; raises ``RulesError`` with every
    problem, or ``RulesUnreadable`` (services/alerts/reload.py). ``main`` reports either."""
    from services.alerts.core.rules.defaults import default_rules
    from services.alerts.reload import read_rules_file

    if path is None:
        return default_rules()
    return read_rules_file(path)


def with_demo_projects(rules, projects_json: str):  # type: ignore[no-untyped-def]
    """``rules`` plus the simulator's demo projects (and the default progress-lag rule)."""
    from services.alerts.core.rules.reader import load_rules
    from services.alerts.core.rules.ruleset import RuleSet

    extra = load_rules(f'{{"rules": [], "projects": {projects_json}}}', name="<simulator demo projects>")
    added = tuple(r for r in extra.rules if rules.by_name(r.name) is None)
    return RuleSet(
        rules=rules.rules + added,
        projects=rules.projects + extra.projects,
        source=f"{rules.source} + simulator demo projects",
        inhibit=rules.inhibit,
    )


def _demo_projects(args: argparse.Namespace) -> str:
    """The simulator's projects on its floor clock (``sim.plans.demo_projects``), as JSON."""
    import datetime as dt
    import json

    from floorwatch.sim.cli import config_from_args
    from floorwatch.sim.plans import demo_projects

    return json.dumps(demo_projects(config_from_args(args), dt.datetime.now(dt.UTC)), ensure_ascii=False)


def _wait_for_stop(stop: threading.Event, *components: Any) -> None:
    from shared.runtime import install_stop_handlers

    install_stop_handlers(stop)
    while not stop.wait(0.5):
        for comp in components:
            if getattr(comp, "failed", None) is not None:
                logger.error("%s failed: %r", type(comp).__name__, comp.failed)
                stop.set()


def _serve_metrics(registry: Any, port: int, host: str = "127.0.0.1") -> None:
    from prometheus_client import start_http_server

    start_http_server(port, addr=host, registry=registry)
    logger.info("metrics on http://%s:%d/metrics", host, port)


def _serve_ops(registry: Any, port: int, host: str, ready: Callable[[], str | None]) -> None:
    """/metrics, /healthz and /readyz of a service without an API (shared/opshttp.py)."""
    from shared.opshttp import OpsServer

    OpsServer(registry, ready, host, port).start()
    logger.info("metrics on http://%s:%d/metrics (and /healthz, /readyz)", host, port)


# -- services ----------------------------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace) -> int:
    from prometheus_client import CollectorRegistry

    from services.ingest.main import IngestRunner
    from shared.kafka import ensure_topics
    from shared.runtime import freeze_startup_objects

    settings = _settings(args)
    if _schema_refused("ingest", settings):
        return 2
    ensure_topics(settings)
    registry = CollectorRegistry()
    runner = IngestRunner(settings, registry)
    _serve_ops(registry, args.metrics_port, settings.metrics_host, runner.problem)
    runner.start()
    freeze_startup_objects()
    stop = threading.Event()
    _wait_for_stop(stop, runner)
    runner.stop()
    return 1 if runner.failed else 0


def cmd_alerts(args: argparse.Namespace) -> int:
    from prometheus_client import CollectorRegistry

    from services.alerts.main import AlertsRunner
    from shared.kafka import ensure_topics
    from shared.runtime import freeze_startup_objects

    settings = _settings(args)
    rules = load_ruleset(settings.rules_file)
    if settings.demo_projects and settings.rules_file is None:
        rules = with_demo_projects(rules, settings.demo_projects)
    if _schema_refused("alerts", settings):
        return 2
    ensure_topics(settings)
    registry = CollectorRegistry()
    runner = AlertsRunner(settings, registry, rules)
    _serve_ops(registry, args.metrics_port, settings.metrics_host, runner.problem)
    runner.start()
    freeze_startup_objects()
    stop = threading.Event()
    _wait_for_stop(stop, runner)
    runner.stop()
    return 1 if runner.failed else 0


def load_notify_config(path: Path, language: str | None = None,  # type: ignore[no-untyped-def]
                       site_languages: dict[str, str] | None = None):
    """The notifications file; raises ``ConfigError`` with every problem and its line."""
    from services.notify.main import read_config

    return read_config(path, language, site_languages)


def site_languages(rules_file: Path | None) -> dict[str, str]:
    """The sites' own languages (``definitions.sites.<site>.language`` of the rules file); raises
    ``RulesError`` with every problem of the file."""
    if rules_file is None:
        return {}
    definitions = load_ruleset(rules_file).definitions
    return dict(definitions.languages) if definitions is not None else {}


def _has_notifications(path: Path | None) -> bool:
    """Whether a rules file carries a ``notifications:`` section (docs/notifications.md)."""
    if path is None:
        return False
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False  # the rules check reports it
    return isinstance(doc, dict) and doc.get("notifications") is not None


def cmd_notify(args: argparse.Namespace) -> int:
    from prometheus_client import CollectorRegistry

    from services.notify.core import ConfigError
    from services.notify.delivery import SecretError
    from services.notify.main import NotifyRunner
    from shared.kafka import ensure_topics

    settings = _settings(args)
    if settings.notify_config is None:
        print("floorwatch notify: give the notifications file with --config FILE "
              "(or FLOORWATCH_NOTIFY_CONFIG)", file=sys.stderr)
        return 2
    from services.alerts.core import RulesError

    try:
        languages = site_languages(settings.rules_file)
    except (RulesError, OSError) as exc:
        print(f"{settings.rules_file}: invalid rules file (the sites' languages):\n{exc}", file=sys.stderr)
        return 1
    try:
        config = load_notify_config(settings.notify_config, settings.language, languages)
    except (ConfigError, OSError) as exc:
        print(f"{settings.notify_config}: invalid notifications file:\n{exc}", file=sys.stderr)
        return 1
    if args.check:
        print(f"{settings.notify_config}: OK — {len(config.receivers)} receiver(s), "
              f"{len(config.routes())} route(s), {len(config.time_intervals)} time interval(s)")
        return 0
    if _schema_refused("notify", settings):
        return 2
    try:
        runner = NotifyRunner(settings, CollectorRegistry(), config)
    except SecretError as exc:
        print(f"floorwatch notify: {exc}", file=sys.stderr)
        return 1
    ensure_topics(settings)
    _serve_ops(runner.registry, args.metrics_port, settings.metrics_host, runner.problem)
    runner.start()
    stop = threading.Event()
    _wait_for_stop(stop, runner)
    runner.stop()
    return 1 if runner.failed else 0


def cmd_api(args: argparse.Namespace) -> int:
    from prometheus_client import CollectorRegistry

    from shared.kafka import ensure_topics

    settings = _settings(args)
    if _schema_refused("api", settings):  # its threads end with it: forking after it is safe
        return 2
    if settings.api_workers > 1:
        # Fork first, before any thread, event loop or Kafka client exists (floorwatch/workers.py).
        from floorwatch.workers import check_free, run_workers

        port = check_free(settings.host, settings.port)
        settings = settings.model_copy(update={"port": port})
        logger.info("API on http://%s:%d with %d workers (SO_REUSEPORT)", settings.host, port,
                    settings.api_workers)

        def worker(index: int) -> int:
            registry = CollectorRegistry()
            if args.metrics_port is not None:  # /metrics on the API port is whichever worker answers
                _serve_metrics(registry, args.metrics_port + index, settings.host)
            ensure_topics(settings)
            # one worker keeps the report roll-ups: its live fold lasts between refreshes (workers
            # refreshing in turn would each find the other's watermark and re-fold whole days)
            mine = settings if index == 0 else settings.model_copy(update={"report_refresh_s": 0.0})
            _run_api(mine, registry, reuse_port=True)
            return 0

        return run_workers(settings.api_workers, worker)
    from shared.runtime import sigterm_as_interrupt

    sigterm_as_interrupt()  # SIGTERM drains and exits 0, as Ctrl-C does
    registry = CollectorRegistry()
    if args.metrics_port is not None:
        _serve_metrics(registry, args.metrics_port, settings.host)
    try:
        ensure_topics(settings)
        _run_api(settings, registry)
    except KeyboardInterrupt:
        pass  # stopped before the server was serving
    return 0


def _run_api(
    settings: Settings,
    registry: Any,
    on_started: Callable[[], None] | None = None,
    *,
    reuse_port: bool = False,
    metrics_relay: Any = None,
) -> None:
    """One API instance under uvicorn until it is stopped. ``reuse_port``: bind its own listening
    socket with ``SO_REUSEPORT`` (one of ``--workers``), so that other processes can serve the port too."""
    import datetime as dt

    import uvicorn

    from services.api.app import create_app
    from services.api.audit_sql import SqlAuditLog
    from services.api.kafka_feed import KafkaCommandSink, KafkaFeed
    from services.api.notifications import SqlNotificationLog
    from services.api.server import server_config
    from services.api.tokens_sql import SqlTokenStore
    from services.reports.settings import report_store
    from shared.db import make_engine, sessions
    from shared.kafka import make_producer

    producer = make_producer(settings, linger_ms=0)
    db = make_engine(settings.database_url)
    app = create_app(
        settings,
        feed=KafkaFeed(settings),
        commands=KafkaCommandSink(producer, settings.topic("control"), lambda: dt.datetime.now(dt.UTC)),
        registry=registry,
        tokens=SqlTokenStore(sessions(db)),
        audit=SqlAuditLog(sessions(db)),
        metrics_relay=metrics_relay,
        notifications=SqlNotificationLog(sessions(db)),
        reports=report_store(settings, db, settle_s=settings.report_settle_s),
    )
    config = server_config(app, host=settings.host, port=settings.port)  # the choices: services/api/server.py
    server = uvicorn.Server(config)
    # The app has a lifespan, so on_startup hooks would never run: watch the server instead.
    def when_serving() -> None:
        from shared.runtime import freeze_startup_objects

        for _ in range(1200):
            if server.started:
                freeze_startup_objects()
                if on_started is not None:
                    on_started()
                return
            if server.should_exit:
                return
            threading.Event().wait(0.05)

    threading.Thread(target=when_serving, name="when-serving", daemon=True).start()
    try:
        if reuse_port:
            from floorwatch.workers import reuseport_socket

            server.run(sockets=[reuseport_socket(settings.host, settings.port)])
        else:
            server.run()
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the Ctrl-C it already handled by shutting down gracefully
    finally:
        producer.close(5)


# -- the whole system -------------------------------------------------------------------------
def cmd_up(args: argparse.Namespace) -> int:
    from prometheus_client import CollectorRegistry

    from floorwatch.metrics_relay import MetricsRelay
    from floorwatch.supervisor import Supervisor, partitions_for, start_broker
    from shared.db import shown_url
    from shared.kafka import ensure_topics, partition_count
    from shared.migrate import upgrade
    from shared.runtime import sigterm_as_interrupt

    sigterm_as_interrupt()  # SIGTERM (and a failed child) take Ctrl-C's path: drain, stop the broker
    settings = _settings(args)
    if not settings.admin_token:
        settings = settings.model_copy(update={"admin_token": secrets.token_urlsafe(24)})
    load_ruleset(settings.rules_file)  # refuse a bad rules file before anything starts
    if settings.notify_config is None and _has_notifications(settings.rules_file):
        # routing in the rules file itself: its `notifications:` section runs the notifier
        settings = settings.model_copy(update={"notify_config": settings.rules_file})
    if settings.notify_config is not None:
        load_notify_config(settings.notify_config)  # and a bad notifications file
    if args.simulate and settings.rules_file is None:
        # the demo: the simulator's projects, so progress against plan shows (docs/simulator.md)
        settings = settings.model_copy(update={"demo_projects": _demo_projects(args)})
    if args.simulate and args.time_scale > 1 and "max_future_skew_s" not in settings.model_fields_set:
        # a floor simulated faster than life runs ahead of the wall clock by design: unless set,
        # ingest's clock-skew bound is off for it (passed to the children by child_env)
        settings = settings.model_copy(update={"max_future_skew_s": 0.0})
    broker = None
    if "kafka_bootstrap" not in settings.model_fields_set:  # neither --kafka nor the environment
        broker = start_broker()
        settings = settings.model_copy(update={"kafka_bootstrap": broker.bootstrap})
    # topics up creates get a partition per alerts process at least (events are keyed by site)
    settings = settings.model_copy(update={"partitions": partitions_for(settings)})
    supervisor = None
    try:
        upgrade(settings.database_url)
        ensure_topics(settings)
        processes = settings.alerts_processes
        if processes > 1 and (have := partition_count(settings, settings.topic("events"))) < processes:
            logger.warning(
                "events topic %s has %d partitions for %d alerts processes: %d of them will sit idle "
                "(add partitions to the topic)", settings.topic("events"), have, processes, processes - have)
        supervisor = Supervisor(
            settings, simulate_argv=_sim_argv(args) if args.simulate else None, log_level=settings.log_level
        )
        supervisor.start()
        ports = supervisor.metrics_ports
        alerts_ports = ", ".join(f":{port}" for name, port in ports.items() if name.startswith("alerts"))

        def announce() -> None:
            base = f"http://{settings.host}:{settings.port}"
            token = settings.admin_token
            print(
                "\nFloorwatch is up.\n"
                f"  wallboard:  {base}/wallboard?token={token}&mode=wallboard\n"
                f"  supervisor: {base}/wallboard?token={token}\n"
                f"  API docs:   {base}/docs   (Authorization: Bearer {token})\n"
                f"  stream:     ws://{settings.host}:{settings.port}/v1/stream?token={token}\n"
                f"  metrics:    {base}/metrics   (all services; ingest alone on :{ports['ingest']},"
                f" alerts on {alerts_ports})\n"
                f"  Kafka:      {settings.kafka_bootstrap}   database: {shown_url(settings.database_url)}\n"
                + (f"  reports:    roll-ups in {shown_url(settings.rollups_url)}\n"
                   if settings.rollups_url != settings.database_url else "")
                + "Ctrl-C stops everything.\n",
                flush=True,
            )

        relay = MetricsRelay({name: ("127.0.0.1", port) for name, port in ports.items()},
                             labelled=[name for name in ports if name.startswith("alerts-")])
        # the report refresh runs as a child of its own (supervisor.py), not in this process
        _run_api(settings.model_copy(update={"report_refresh_s": 0.0}), CollectorRegistry(),
                 on_started=announce, metrics_relay=relay)
    except KeyboardInterrupt:
        pass  # Ctrl-C or SIGTERM before the API was serving (while serving, uvicorn takes it)
    finally:
        if supervisor is not None:
            supervisor.stop()
        if broker is not None:
            broker.stop()
    return 1 if supervisor is not None and supervisor.failed.is_set() else 0


def _sim_argv(args: argparse.Namespace) -> list[str]:
    """The simulator options given to `up`, to pass on to its `floorwatch simulate` child."""
    own = argparse.ArgumentParser(add_help=False)
    _add_common(own, api=True, rules=True)
    own.add_argument("--simulate", action="store_true")
    own.add_argument("--notify")
    own.add_argument("--alerts-processes")
    _, rest = own.parse_known_args(args.raw_argv[1:])
    return rest


class _SimulatorThread:
    def __init__(self, settings: Settings, args: argparse.Namespace):
        from shared.kafka import make_producer

        self.settings = settings
        self.args = args
        self.stop_event = threading.Event()
        self.producer = make_producer(settings)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="simulator", daemon=True)

    def _run(self) -> None:
        from floorwatch.sim.cli import config_from_args, runner_kwargs
        from floorwatch.sim.runner import run_simulation

        topic = self.settings.topic("raw")
        try:
            run_simulation(
                lambda key, value: self.producer.send(topic, key=key, value=value),
                config=config_from_args(self.args),
                stop=self.stop_event,
                **runner_kwargs(self.args),
            )
        except BaseException as exc:
            self.error = exc
            logger.exception("simulator stopped by an error")
        finally:
            self.producer.flush()

    @property
    def failed(self) -> BaseException | None:
        return self.error

    def start(self) -> _SimulatorThread:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(10)
        self.producer.close(5)


def _start_simulator(settings: Settings, args: argparse.Namespace) -> _SimulatorThread:
    return _SimulatorThread(settings, args).start()


def cmd_simulate(args: argparse.Namespace) -> int:
    from shared.kafka import ensure_topics
    from shared.runtime import install_stop_handlers

    # The handlers first: `up` relays one stop signal to its children, and one that arrived while
    # the topics were being checked used to end this process by KeyboardInterrupt, undrained.
    stop = threading.Event()
    install_stop_handlers(stop)
    settings = _settings(args)
    # The topics are checked on a thread of their own: kafka-python's admin client blocks in its
    # constructor until the broker answers (up to 30 s), and a stop meanwhile must not wait for it.
    checked = threading.Event()
    failed: list[BaseException] = []

    def check() -> None:
        try:
            ensure_topics(settings)
        except Exception as exc:  # noqa: BLE001 -- handed to the main thread, raised there
            failed.append(exc)
        finally:
            checked.set()

    threading.Thread(target=check, name="ensure-topics", daemon=True).start()
    logger.info("simulator waiting for the broker bootstrap=%s", settings.kafka_bootstrap)
    while not checked.wait(0.2):
        if stop.is_set():
            logger.info("simulator stopped before the broker answered")
            return 0
    if failed:
        raise failed[0]
    if stop.is_set():
        return 0
    sim = _start_simulator(settings, args)
    logger.info("simulator started topic=%s", settings.topic("raw"))
    while sim.thread.is_alive() and not stop.wait(0.5):
        pass
    sim.stop()
    return 1 if sim.failed else 0


# -- tools -------------------------------------------------------------------------------------
def cmd_rules_check(args: argparse.Namespace) -> int:
    from services.alerts.core.rules.reader import RulesError
    from services.alerts.reload import RulesUnreadable
    from shared.i18n import load_catalogue, patterns

    # the problems in the reader's language: --lang, else FLOORWATCH_LANGUAGE (issue 15)
    lang = args.lang or Settings().language or "en"
    cat = load_catalogue()

    def said(text: str) -> str:
        return patterns.translate(text, lang, cat, "rules_error.")

    try:
        ruleset = load_ruleset(args.file)
    except RulesError as exc:
        for line, message in exc.errors:
            print(f"{args.file}:{line}: {said(message)}", file=sys.stderr)
        print(said(f"{args.file}: {len(exc.errors)} error(s); not loaded"), file=sys.stderr)
        return 1
    except RulesUnreadable as exc:
        print(f"{exc}; not loaded", file=sys.stderr)
        return 1
    print(said(f"{args.file}: OK, {len(ruleset.rules)} rule(s)"))
    return 0


def cmd_rules_schema(args: argparse.Namespace) -> int:
    from services.alerts.core.rules.reader.specs import schema_text

    sys.stdout.write(schema_text())
    return 0


def cmd_rules_defaults(args: argparse.Namespace) -> int:
    import yaml

    from services.alerts.core.rules.defaults import default_rules
    from services.alerts.core.rules.reader.specs import rules_data

    head = "# Floorwatch's built-in rules as a rules file (floorwatch rules defaults); docs/rules.md\n"
    head += "# JSON Schema for editors: floorwatch rules schema > rules-schema.json\n"
    body = yaml.safe_dump(rules_data(default_rules().rules), sort_keys=False, allow_unicode=True, width=100)
    sys.stdout.write(head + body)
    return 0


def cmd_rules_backtest(args: argparse.Namespace) -> int:
    from services.alerts.backtest import backtest
    from services.alerts.core.rules.reader import RulesError
    from services.ingest.adapters import get_adapter
    from services.ingest.vendor_files import iter_records, too_long_reason
    from shared.events import InvalidEvent

    try:
        rules = load_ruleset(args.rules)
    except RulesError as exc:
        for line, message in exc.errors:
            print(f"{args.rules}:{line}: {message}", file=sys.stderr)
        return 1
    events, records_, unreadable = [], 0, 0
    try:
        adapter = get_adapter(args.format, site=args.site, source=args.source)
        for key, value in iter_records(args.events, args.format):
            records_ += 1
            try:
                if too_long_reason(value) is not None:
                    raise InvalidEvent("line too long")
                events.extend(adapter.decode(value, key))
            except InvalidEvent:
                unreadable += 1
    except (OSError, ValueError) as exc:  # EventFileUnreadable (one line naming the file), unknown format
        print(f"floorwatch rules backtest: {exc}", file=sys.stderr)
        return 2
    if unreadable == records_:
        print(_nothing_read(args.events, args.format, records_), file=sys.stderr)
        return 1
    result = backtest(events, rules)
    for t in result.transitions:
        scope = ",".join(f"{k}={v}" for k, v in t["scope"].items())
        print(
            f"{t['event_time']}  {t['state']:<8} {t['severity']:<8} {t['rule']:<24} {scope:<32} "
            f"{t['summary']}"
        )
    print(
        f"\n{result.events} events ({unreadable} unreadable records, {result.duplicates} duplicates), "
        f"{len(result.transitions)} transitions:"
    )
    for (rule, state), n in sorted(result.counts().items()):
        print(f"  {rule:<24} {state:<8} {n}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    import json

    from floorwatch import stats
    from services.alerts.core.floor.definitions import DefinitionsError, preset
    from services.alerts.core.rules.reader import RulesError

    try:
        by, interval_s = stats.parse_by(args.by)
        rules = load_ruleset(args.rules) if args.rules else None
        defs = rules_definitions(rules)
        if args.preset:
            defs = type(defs)(default=preset(args.preset))
        if args.tz is not None:
            _check_zone(args.tz)
            defs = defs.with_zone(args.tz)
        if interval_s is not None:
            defs = _with_interval(defs, interval_s)
    except RulesError as exc:
        for line, message in exc.errors:
            print(f"{args.rules}:{line}: {message}", file=sys.stderr)
        return 1
    except (ValueError, DefinitionsError) as exc:
        print(f"floorwatch stats: {exc}", file=sys.stderr)
        return 2
    if not args.file.exists():
        print(f"{args.file}: no such file", file=sys.stderr)
        return 2
    try:
        read = stats.read_events(
            args.file, args.format, site=args.site, source=args.source, progress=stats.Progress("reading")
        )
    except (OSError, ValueError) as exc:  # EventFileUnreadable: one line naming the file and why
        print(f"floorwatch stats: {exc}", file=sys.stderr)
        return 2
    if read.unreadable == read.records:  # empty, or not one record could be read
        if read.records:
            print(f"{read.records} records, all unreadable", file=sys.stderr)
            for reason, n in sorted(read.reasons.items(), key=lambda kv: -kv[1])[:5]:
                print(f"  unreadable x{n}: {reason}", file=sys.stderr)
        print(_nothing_read(args.file, args.format, read.records), file=sys.stderr)
        return 1
    rows, engine = stats.compute(read.events, defs, by=by, progress=stats.Progress("computing"))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    elif args.csv:
        stats.render_csv(rows, sys.stdout)
    else:
        stats.render_table(rows, sys.stdout)
    print(
        f"{read.records} records, {len(read.events)} events ({read.unreadable} unreadable, "
        f"{engine.duplicates} duplicates)",
        file=sys.stderr,
    )
    for reason, n in sorted(read.reasons.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  unreadable x{n}: {reason}", file=sys.stderr)
    return 0


def _nothing_read(path: Path, fmt: str, records: int) -> str:
    """The one line that says a file gave nothing to work on (the command then exits 1)."""
    if records == 0:
        return f"{path}: no {fmt} records in it (empty, or not in the {fmt} format?)"
    return f"{path}: none of its {records} records could be read as {fmt} (the wrong --format?)"


def rules_definitions(rules: Any):  # type: ignore[no-untyped-def]
    """The definitions a rule set carries (the rules file's ``definitions:``), else the defaults."""
    from services.alerts.core.floor.definitions import DefinitionSet

    found = getattr(rules, "definitions", None) if rules is not None else None
    return found if found is not None else DefinitionSet()


def _check_zone(name: str) -> None:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"--tz: unknown time zone {name!r} (an IANA name such as Asia/Shanghai)") from None


def _with_interval(defs: Any, interval_s: int) -> Any:
    return type(defs)(
        default=defs.default.replace(interval_s=interval_s),
        sites={k: v.replace(interval_s=interval_s) for k, v in defs.sites.items()},
        queues={
            s: {q: v.replace(interval_s=interval_s) for q, v in qs.items()} for s, qs in defs.queues.items()
        },
    )


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from shared.migrate import upgrade

    settings = _settings(args)
    upgrade(settings.database_url)
    from shared.db import shown_url

    print(f"database at {shown_url(settings.database_url)} is at the latest schema")
    return 0


def cmd_reports(args: argparse.Namespace) -> int:
    """``reports rebuild`` / ``reports refresh``: the report roll-ups from the events table."""
    import asyncio
    import datetime as dt

    from services.reports.settings import report_store
    from services.reports.store import MAX_CHUNK_EVENTS
    from shared.db import make_engine

    settings = _settings(args)

    async def run() -> int:
        engine = make_engine(settings.database_url)
        every = args.reports_command == "refresh" and getattr(args, "every", None)
        # a refresh once (and a rebuild) never waits for events to settle
        store = report_store(settings, engine, settle_s=settings.report_settle_s if every else 0.0)
        try:
            if every:
                return await _refresh_loop(store, args.every)
            if args.reports_command == "refresh":
                done = await store.refresh()
                print(f"re-folded {len(done['days'])} business day(s): {', '.join(done['days']) or '-'}")
                return 0
            span = await store.event_days()
            if span is None:
                print("the events table is empty: nothing to rebuild")
                return 0
            first = dt.date.fromisoformat(args.from_day) if args.from_day else span[0]
            last = dt.date.fromisoformat(args.to_day) if args.to_day else span[1]
            counts = await store.rebuild(first, last, max_events=args.max_events or MAX_CHUNK_EVENTS)
            print(f"rebuilt {first} .. {last} from {counts.get('events', 0)} events: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k != "events"))
            return 0
        finally:
            await store.aclose()
            await engine.dispose()

    return asyncio.run(run())


async def _refresh_loop(store, every: float) -> int:  # type: ignore[no-untyped-def]
    """``reports refresh --every S``: refresh until SIGINT/SIGTERM, keeping the live fold."""
    import threading

    from services.reports.runner import refresh_every
    from shared.runtime import install_stop_handlers

    stop = threading.Event()
    install_stop_handlers(stop)
    logger.info("report refresh started every_s=%s settle_s=%s", every, store.settle_s)
    await refresh_every(store, every, stop.is_set)
    logger.info("report refresh stopped")
    return 0


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"expected seconds above 0 and at most 86400, got {text}")
    return value


def _day(text: str) -> str:
    import datetime as dt

    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a day as YYYY-MM-DD, got {text!r}") from None
    return text


def cmd_replay(args: argparse.Namespace) -> int:
    from kafka.errors import KafkaError

    from floorwatch.replay import records
    from floorwatch.stats import Progress
    from services.ingest.vendor_files import MAX_LINE_BYTES, too_long_reason
    from shared.kafka import ensure_topics, make_producer

    settings = _settings(args)
    topic = args.topic or settings.topic("raw")
    try:
        # a line over the reader's cap stands as a TooLong record: counted, never published
        todo, too_long = [], 0
        for rec in records(args.file, args.format, raw=args.raw, bound_s=args.reorder_bound):
            if too_long_reason(rec[1]) is None:
                todo.append(rec)
            else:
                too_long += 1
    except (OSError, ValueError) as exc:  # EventFileUnreadable: one line naming the file and why
        print(f"floorwatch replay: {exc}", file=sys.stderr)
        return 2
    if too_long:
        print(f"{args.file}: {too_long} line(s) over the {MAX_LINE_BYTES // 2**20} MiB a line may have; "
              "skipped", file=sys.stderr)
    if not todo:
        print(_nothing_read(args.file, args.format, too_long), file=sys.stderr)
        return 1
    try:
        ensure_topics(settings, [topic])
        producer = make_producer(settings)
        progress = Progress("replaying")
        for count, (key, value) in enumerate(todo, 1):
            producer.send(topic, key=key, value=value)
            if count % 2000 == 0:
                progress(count, len(todo))
        progress(len(todo), len(todo))
        producer.flush()
        producer.close()
    except KafkaError as exc:
        print(f"floorwatch replay: Kafka at {settings.kafka_bootstrap}: {exc}; the file was not (or not "
              "wholly) published", file=sys.stderr)
        return 1
    order = "file order" if args.raw else "event-time order"
    if args.reorder_bound is not None and not args.raw:
        order += f" (reorder bound {args.reorder_bound:g} s)"
    print(f"replayed {len(todo)} record(s) from {args.file} to {topic} in {order}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="floorwatch", description="Real-time call-center floor monitoring.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("up", help="the whole system on one machine (embedded broker, SQLite, all services)")
    _add_common(p, api=True, rules=True)
    p.add_argument("--simulate", action="store_true", help="add the built-in floor simulator")
    setting_flag(p, "--notify", field="notify_config", type=Path, metavar="FILE",
                 help="notifications file: also run the notifier")
    setting_flag(p, "--alerts-processes", field="alerts_processes", type=_positive, metavar="N",
                 help="alerts processes in one consumer group, each with its share of the sites "
                 "(partitions); use up to one per core (default 1)")
    _add_sim_arguments(p)
    p.set_defaults(func=cmd_up)

    for name, func, port in (("ingest", cmd_ingest, 9101), ("alerts", cmd_alerts, 9102)):
        p = sub.add_parser(name, help=f"run the {name} service alone")
        _add_common(p, rules=name == "alerts")
        p.add_argument("--metrics-port", type=int, default=port)
        p.set_defaults(func=func)
    p = sub.add_parser("notify",
                       help="run the notifier alone: alert transitions to webhooks, chat robots, email")
    _add_common(p)
    setting_flag(p, "--config", field="notify_config", type=Path, metavar="FILE",
                 help="notifications file; reference: docs/notifications.md")
    p.add_argument("--check", action="store_true",
                   help="validate the file (every error with its line) and exit")
    p.add_argument("--metrics-port", type=int, default=9103)
    p.set_defaults(func=cmd_notify)
    p = sub.add_parser("api", help="run the API service alone")
    _add_common(p, api=True)
    setting_flag(p, "--workers", field="api_workers", type=_positive,
                 help="API processes serving the port (SO_REUSEPORT), each a whole API instance; "
                 "use up to one per core (default 1)")
    p.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="also serve /metrics on PORT (worker i of --workers on PORT+i): with several "
        "workers, /metrics on the API port answers for whichever worker took the connection",
    )
    p.set_defaults(func=cmd_api)

    p = sub.add_parser("simulate", help="produce a simulated floor to the raw topic")
    _add_common(p)
    _add_sim_arguments(p)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("replay", help="produce a file of recorded events (any supported format) to Kafka")
    _add_common(p)
    p.add_argument("file", type=Path)
    p.add_argument(
        "--format", required=True, help="canonical, asterisk-queue-log, asterisk-ami, amazon-connect-*, …"
    )
    p.add_argument("--topic", help="target topic (default: the canonical raw topic)")
    p.add_argument("--raw", action="store_true", help="publish in file order (default: sorted by event time)")
    p.add_argument(
        "--reorder-bound",
        type=float,
        metavar="SECONDS",
        help="sort through a bounded reorder buffer (records at most this far out of order), not in memory",
    )
    p.set_defaults(func=cmd_replay)

    rules = sub.add_parser("rules", help="rules files").add_subparsers(dest="rules_command", required=True)
    p = rules.add_parser("check", help="validate a rules file; every error with its line")
    p.add_argument("file", type=Path)
    p.add_argument("--lang", choices=("zh", "en"),
                   help="the errors' language (default: FLOORWATCH_LANGUAGE, else en)")
    _tool_log_level(p)
    p.set_defaults(func=cmd_rules_check)

    p = rules.add_parser("schema", help="print the JSON Schema of rules files (docs/rules-schema.json)")
    _tool_log_level(p)
    p.set_defaults(func=cmd_rules_schema)
    p = rules.add_parser("defaults", help="print the built-in rules as a rules file, to start one from")
    _tool_log_level(p)
    p.set_defaults(func=cmd_rules_defaults)

    p = rules.add_parser("backtest", help="which alerts a rule set would have raised over recorded events")
    p.add_argument("rules", type=Path, nargs="?", help="rules YAML (default: the built-in rules)")
    p.add_argument("--events", type=Path, required=True, help="recorded events file")
    p.add_argument("--format", default="canonical", help="file format (an adapter name; default canonical)")
    p.add_argument("--site", default="replay", help="site for vendor formats that do not name one")
    p.add_argument("--source", default="replay", help="source for vendor formats")
    _tool_log_level(p)
    p.set_defaults(func=cmd_rules_backtest)

    p = sub.add_parser(
        "stats", help="day or interval figures of a recorded file, per site and queue (the live engine's)"
    )
    p.add_argument("file", type=Path)
    p.add_argument("--format", required=True, help="file format (an adapter name, e.g. anonymous-bank)")
    p.add_argument("--rules", type=Path, metavar="FILE", help="rules YAML whose definitions: apply")
    p.add_argument(
        "--preset", help="definitions preset: floorwatch (default), asterisk, amazon-connect, genesys"
    )
    p.add_argument("--tz", metavar="ZONE", help="IANA zone of the business day (overrides the sites')")
    p.add_argument("--by", default="day", help="day (default) or interval:30m (any N s|m|h dividing a day)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON array of rows")
    out.add_argument("--csv", action="store_true", help="CSV with a header row")
    p.add_argument("--site", default="replay", help="site for vendor formats that do not name one")
    p.add_argument("--source", default="replay", help="source for vendor formats")
    _tool_log_level(p)
    p.set_defaults(func=cmd_stats)

    from services.api.admin_cli import add_token_commands

    add_token_commands(sub)

    reports = sub.add_parser("reports", help="report roll-ups (docs/reports.md)").add_subparsers(
        dest="reports_command", required=True)
    p = reports.add_parser("rebuild", help="re-fold the report roll-ups from the events table")
    p.add_argument("--from", dest="from_day", type=_day, metavar="DAY",
                   help="first business day (YYYY-MM-DD; default: the first stored event's)")
    p.add_argument("--to", dest="to_day", type=_day, metavar="DAY",
                   help="last business day (default: the last stored event's)")
    p.add_argument("--max-events", type=_positive, default=None, metavar="N",
                   help="fold fewer days at a time where a week would hold more than N events in memory "
                        "(default 500000, ~0.6 KiB each; a day is always folded whole)")
    _add_common(p, rules=True)
    p.set_defaults(func=cmd_reports)
    p = reports.add_parser("refresh", help="fold the events stored since the last refresh (late ones too)")
    p.add_argument("--every", type=_positive_seconds, metavar="SECONDS",
                   help="keep running: refresh every SECONDS, keeping the live fold between refreshes "
                        "(what `up` runs; stop with Ctrl-C or SIGTERM)")
    _add_common(p, rules=True)
    p.set_defaults(func=cmd_reports)

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    p = db.add_parser("upgrade", help="migrate the database to the latest schema")
    _add_common(p)
    p.set_defaults(func=cmd_db_upgrade)
    return parser


def _tool_log_level(p: argparse.ArgumentParser) -> None:
    """--log-level of a one-shot tool: quiet (WARNING) unless the flag says otherwise."""
    setting_flag(p, "--log-level", field="log_level", metavar="LEVEL", help="default WARNING for this tool")
    p.set_defaults(**{SETTING + "log_level": "WARNING"})


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _add_sim_arguments(p: argparse.ArgumentParser) -> None:
    from floorwatch.sim.cli import add_arguments

    add_arguments(p)


def _logging_settings(args: argparse.Namespace) -> tuple[str, str]:
    """(level, format) of this command's settings."""
    from pydantic import ValidationError

    try:
        settings = _settings(args)
    except ValidationError:
        return "INFO", "auto"  # the command itself reports the bad setting
    return settings.log_level, settings.log_format


def main(argv: list[str] | None = None) -> int:
    from services.alerts.core.rules.reader import RulesError
    from services.alerts.reload import RulesUnreadable
    from shared.logs import setup_logging

    raw = list(sys.argv[1:] if argv is None else argv)
    args = None
    try:
        args = build_parser().parse_args(raw)
        args.raw_argv = raw
        level, fmt = _logging_settings(args)
        setup_logging(level, service=args.command, fmt=fmt)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:  # stopped while starting, before a command's own handling
        return 130
    except (RulesError, RulesUnreadable) as exc:  # a command that needs the rules file, at start
        print(exc, file=sys.stderr)  # every problem as FILE:LINE: message, or why it is unreadable
        print(f"floorwatch {args.command if args else ''}: the rules file is refused; nothing was "
              "started (`floorwatch rules check FILE` checks a file)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
