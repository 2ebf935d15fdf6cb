"""deploy/: Prometheus config and rules (promtool), the dashboards (as built by their code, and
consistent with the provisioning), the compose stack (Docker Compose v2's own ``config``)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from tests.deploy.panels import DASHBOARDS, dashboards, queries
from tests.support.tools import docker_compose, promtool

DEPLOY = REPO / "deploy"
PROM = DEPLOY / "prometheus"


def run(*argv: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize("config", ["prometheus.yml", "floorwatch-up.yml"])
def test_prometheus_config_is_valid_and_finds_its_rules(config: str) -> None:
    done = run(promtool(), "check", "config", str(PROM / config))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 rule files found" in done.stdout, done.stdout


def test_rules_check_and_their_unit_tests_pass() -> None:
    done = run(promtool(), "check", "rules", *map(str, sorted((PROM / "rules").glob("*.yml"))))
    assert done.returncode == 0, done.stdout + done.stderr
    tests = sorted((PROM / "tests").glob("*.yml"))
    assert tests
    done = run(promtool(), "test", "rules", *map(str, tests))
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_health_alert_has_a_unit_test() -> None:
    rules = yaml.safe_load((PROM / "rules" / "alerts.yml").read_text())
    names = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    tested = set(
        re.findall(r"alertname: (\w+)", "".join(p.read_text() for p in (PROM / "tests").glob("*.yml")))
    )
    # the API readiness alert is a plain threshold on one gauge; every other one is tested
    assert names - tested <= {"FloorwatchApiNotReady"}, names - tested


def _builder() -> Any:
    spec = importlib.util.spec_from_file_location(
        "build_dashboards", DEPLOY / "grafana" / "build_dashboards.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dashboard_files_are_what_the_code_builds() -> None:
    rendered = _builder().render()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in DASHBOARDS.glob("*.json")}
    assert on_disk == rendered, "run: python deploy/grafana/build_dashboards.py"


def test_dashboards_are_consistent_with_the_provisioning() -> None:
    ds = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())
    [source] = ds["datasources"]
    boards = dashboards()
    assert {b["uid"] for b in boards.values()} == {
        "floorwatch-overview",
        "floorwatch-queues",
        "floorwatch-teams",
        "floorwatch-projects",
        "floorwatch-alerts",
        "floorwatch-pipeline",
    }
    for path, board in boards.items():
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), path
        variables = {v["name"] for v in board["templating"]["list"]}
        assert "site" in variables, path
        names = [a["name"] for a in board["annotations"]["list"]]
        assert "Floorwatch alerts" in names, path
        for p in board["panels"]:
            assert p["datasource"]["uid"] == source["uid"], (path, p["title"])
            for t in p["targets"]:
                assert t["datasource"]["uid"] == source["uid"]
                used = set(re.findall(r"\$(\w+)", t["expr"])) - {"__rate_interval", "__interval", "__range"}
                assert used <= variables, (path, p["title"], used - variables)
    assert sum(1 for _ in queries()) > 50


COMPOSE_ENV = {
    "FLOORWATCH_ADMIN_TOKEN": "compose-test",
    "GRAFANA_ADMIN_PASSWORD": "compose-test",
    "PATH": "/usr/bin:/bin",
}


@pytest.mark.parametrize("compose", ["docker-compose.yml", "deploy/docker-compose.yml"])
def test_compose_file_is_valid_for_compose_v2(compose: str) -> None:
    """Docker Compose v2 resolves the file (``include:``, ``name:``, anchors) without a daemon."""
    done = run(
        docker_compose(), "-f", compose, "--profile", "demo", "config", "--format", "json", env=COMPOSE_ENV
    )
    assert done.returncode == 0, done.stderr
    stack = json.loads(done.stdout)
    _check_stack(stack)


def _check_stack(stack: dict[str, Any]) -> None:
    services = stack["services"]
    assert {
        "kafka",
        "postgres",
        "migrate",
        "ingest",
        "alerts",
        "notify",
        "api",
        "simulator",
        "prometheus",
        "grafana",
    } <= set(services)
    for name, port in (("ingest", 9101), ("alerts", 9102), ("notify", 9103), ("api", 8000)):
        check = " ".join(services[name]["healthcheck"]["test"])
        assert f"127.0.0.1:{port}/readyz" in check, (name, check)
        assert f"--metrics-port {port}" in " ".join(services[name]["command"]) or name == "api"
    env = services["grafana"]["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert services["ingest"]["environment"]["FLOORWATCH_METRICS_HOST"] == "0.0.0.0"
    # the report refresh is a service of its own; the API keeps the rest of the shared environment
    assert services["reports"]["command"][:3] == ["floorwatch", "reports", "refresh"]
    assert services["api"]["environment"]["FLOORWATCH_REPORT_REFRESH_S"] == "0"
    assert services["api"]["environment"]["FLOORWATCH_DATABASE_URL"] == services["ingest"]["environment"][
        "FLOORWATCH_DATABASE_URL"]
    assert "FLOORWATCH_REPORT_REFRESH_S" not in services["reports"]["environment"]
    # every path the stack mounts or builds from is in the repository
    for name, svc in services.items():
        for vol in svc.get("volumes", []):
            if vol["type"] == "bind":
                source = Path(vol["source"])
                assert source.exists(), (name, source)
                assert source.is_relative_to(REPO), (name, source)
        if "build" in svc:
            assert (Path(svc["build"]["context"]) / svc["build"]["dockerfile"]).exists(), name
    # the scrape targets are the services' metrics ports
    prom = yaml.safe_load((PROM / "prometheus.yml").read_text())
    targets = {t for job in prom["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert targets == {"api:8000", "ingest:9101", "alerts:9102", "notify:9103"}
    # the notifications file the stack mounts is one the notifier accepts
    from services.notify.main import read_config

    assert read_config(DEPLOY / "notifications.yaml").route.receiver == "nowhere"


def test_the_image_copies_what_exists() -> None:
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for src in line.split()[1:-1]:
                assert (REPO / src).exists(), line
