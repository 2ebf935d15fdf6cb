"""``floorwatch up``: the whole system on one machine, as production runs it — one process per service.

Each service is its own process (``floorwatch ingest``, ``floorwatch alerts``, optionally
``floorwatch simulate``) so none of them competes with another for the GIL: measured here, one
process for all three took p99 event→alert latency from ~210 ms to over 1 s at 1,000 events/s
(docs/benchmarks.md). The API runs in this process; the embedded broker (when no Kafka is given)
is a child too. Children inherit the settings through ``FLOORWATCH_*`` variables. The simulator,
the notifier and the report refresh (``floorwatch reports refresh --every``, instead of the API's
own task: folding a busy floor's events held the API's interpreter lock for up to a second) run at
a lower CPU priority (``BACKGROUND_NICE``): on a busy machine the processes on the way from an
event to an alert on a screen get a core first.

``--alerts-processes N`` runs N ``floorwatch alerts`` children in the one consumer group: the
partitions of the events topic (keyed by site) are split between them, so each runs the engines
of its share of the sites on a core of its own (docs/reliability.md, "Scale-out").

Shutdown: Ctrl-C or SIGTERM stops the API, then each child gets SIGINT (it drains, commits,
snapshots) and is killed only if it has not exited within the time limit; the broker goes last;
exit status 0. The children and the broker run in process groups of their own, so the SIGINT a
terminal sends to its foreground group reaches only `up`, and each child is told once. A child
that dies on its own takes the whole system down loudly (exit status 1) rather than leaving a
board that looks alive.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from shared.broker import EmbeddedBroker, die_with_parent, free_port
from shared.config import Settings

logger = logging.getLogger(__name__)
# niceness of the children off the alert path (simulator, notifier, report refresh): they yield the
# CPU to ingest, the engine, the API and the broker when cores are short, and take what is left otherwise
BACKGROUND_NICE = 10


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    expected_exit: bool = field(default=False)
    nice: int = 0  # added to the child's niceness before it runs (lower priority when > 0)


def child_preexec(nice: int) -> Callable[[], None]:
    """What runs in a child before exec: die with the parent, then lower its priority by ``nice``."""

    def run() -> None:
        die_with_parent()
        if nice:
            os.nice(nice)

    return run


def child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        FLOORWATCH_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
        FLOORWATCH_DATABASE_URL=settings.database_url,
        FLOORWATCH_TOPIC_PREFIX=settings.topic_prefix,
        FLOORWATCH_MAX_FUTURE_SKEW_S=str(settings.max_future_skew_s),
        FLOORWATCH_PARTITIONS=str(settings.partitions),
        FLOORWATCH_REPORT_SETTLE_S=str(settings.report_settle_s),
        PYTHONUNBUFFERED="1",
    )
    if settings.rules_file is not None:
        env["FLOORWATCH_RULES_FILE"] = str(settings.rules_file.resolve())
    if settings.demo_projects is not None:
        env["FLOORWATCH_DEMO_PROJECTS"] = settings.demo_projects
    if settings.notify_config is not None:
        env["FLOORWATCH_NOTIFY_CONFIG"] = str(settings.notify_config.resolve())
    return env


def alerts_names(processes: int) -> list[str]:
    """The alerts children's names: ``alerts`` alone, else ``alerts-0`` … ``alerts-<N-1>``
    (one consumer group; each its own metrics port, named so in logs and in the relay)."""
    return ["alerts"] if processes == 1 else [f"alerts-{i}" for i in range(processes)]


def partitions_for(settings: Settings) -> int:
    """Partitions for the topics `up` creates: at least one per alerts process, rounded up to a
    multiple of their number so that the group splits them evenly (the default 3 for one)."""
    n = settings.alerts_processes
    return -(-max(settings.partitions, n) // n) * n


class Supervisor:
    def __init__(self, settings: Settings, *, simulate_argv: Sequence[str] | None, log_level: str):
        self.settings = settings
        self.log_level = log_level
        self.metrics_ports = {"ingest": free_port()}
        for name in alerts_names(settings.alerts_processes):
            self.metrics_ports[name] = free_port()
        self.children = [
            Child(name, [name.partition("-")[0], "--metrics-port", str(port)])
            for name, port in self.metrics_ports.items()
        ]
        if settings.notify_config is not None:
            self.metrics_ports["notify"] = free_port()
            port = str(self.metrics_ports["notify"])
            self.children.append(Child("notify", ["notify", "--metrics-port", port], nice=BACKGROUND_NICE))
        if settings.report_refresh_s > 0:  # the API of `up` then does not refresh (report_refresh_s 0)
            every = str(settings.report_refresh_s)
            self.children.append(Child("reports", ["reports", "refresh", "--every", every],
                                       nice=BACKGROUND_NICE))
        if simulate_argv is not None:
            self.children.append(Child("simulator", ["simulate", *simulate_argv], nice=BACKGROUND_NICE))
        self.failed = threading.Event()
        self._watchers: list[threading.Thread] = []

    def start(self) -> None:
        env = child_env(self.settings)
        for child in self.children:
            argv = [sys.executable, "-m", "floorwatch.cli", *child.argv, "--log-level", self.log_level]
            # A process group of its own: a terminal's Ctrl-C reaches only `up`, which relays it
            # once (a second SIGINT would force the child out without draining).
            child.proc = subprocess.Popen(
                argv, env=env, preexec_fn=child_preexec(child.nice), process_group=0
            )
            watcher = threading.Thread(
                target=self._watch, args=(child,), name=f"watch-{child.name}", daemon=True
            )
            watcher.start()
            self._watchers.append(watcher)
            logger.info("started %s pid=%s", child.name, child.proc.pid)

    def _watch(self, child: Child) -> None:
        assert child.proc is not None
        code = child.proc.wait()
        if child.expected_exit:
            return
        if child.name == "simulator" and code == 0:
            logger.info("simulator finished its run")
            return
        logger.error("%s exited unexpectedly with code %s: stopping Floorwatch", child.name, code)
        self.failed.set()
        os.kill(os.getpid(), signal.SIGTERM)  # let the API's server shut down the normal way

    def stop(self, timeout: float = 20.0) -> None:
        for child in reversed(self.children):
            child.expected_exit = True
            if child.proc is not None and child.proc.poll() is None:
                child.proc.send_signal(signal.SIGINT)
        for child in reversed(self.children):
            if child.proc is None:
                continue
            try:
                child.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop within %ss: killing it", child.name, timeout)
                child.proc.kill()
                child.proc.wait()


def start_broker() -> EmbeddedBroker:
    broker = EmbeddedBroker(supervised=True).start()
    logger.info("embedded Kafka-compatible broker (Tansu) on %s", broker.bootstrap)
    return broker
