"""A service started alone on a database that is not at this release's schema refuses at once, with
what is wrong and the command that fixes it (it used to start, then fail in its first query with
"no such table": the alerts service as "User rebalance callback throws an error")."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from shared.broker import free_port
from shared.migrate import alembic_config, schema_problem, upgrade


def head(url: str) -> str:
    (only,) = ScriptDirectory.from_config(alembic_config(url)).get_heads()
    return str(only)


def test_the_schema_is_judged_against_the_migrations(tmp_path: Path) -> None:
    fresh = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    assert schema_problem(fresh) == "the database has no Floorwatch schema"
    old = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(old, "0003")
    problem = schema_problem(old)
    assert problem is not None and "0003" in problem and head(old) in problem
    upgrade(old)
    assert schema_problem(old) is None
    # a database that does not answer is left to the service's own waiting
    began = time.monotonic()
    assert schema_problem(f"postgresql+asyncpg://floorwatch@127.0.0.1:{free_port()}/nothing") is None
    assert time.monotonic() - began < 10


@pytest.mark.parametrize("command", [["ingest"], ["alerts"], ["api", "--port", "0"]])
def test_a_service_alone_refuses_a_database_without_the_schema(tmp_path: Path, command: list[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fw.db'}"
    began = time.monotonic()
    kafka = f"127.0.0.1:{free_port()}"  # nothing there: the refusal comes before the broker
    argv = [sys.executable, "-m", "floorwatch.cli", *command, "--db", url, "--kafka", kafka]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"no Floorwatch schema ({url})" in done.stderr and "`floorwatch db upgrade`" in done.stderr
    assert time.monotonic() - began < 30  # not after waiting for the (absent) broker


def test_a_database_url_is_shown_without_its_password() -> None:
    from shared.db import shown_url

    shown = shown_url("postgresql+asyncpg://floorwatch:s3cret@db:5432/floorwatch")
    assert "s3cret" not in shown
    assert shown.startswith("postgresql+asyncpg://floorwatch:") and shown.endswith("@db:5432/floorwatch")
    assert shown_url("sqlite+aiosqlite:///fw.db") == "sqlite+aiosqlite:///fw.db"


def test_a_service_alone_names_a_database_url_it_cannot_read() -> None:
    url = "postgresql+asyncpg://floorwatch:s3cret@db:notaport/floorwatch"  # a port that is no number
    kafka = f"127.0.0.1:{free_port()}"
    argv = [sys.executable, "-m", "floorwatch.cli", "alerts", "--db", url, "--kafka", kafka]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "the database cannot be read" in done.stderr and "<unreadable database URL>" in done.stderr
    assert "s3cret" not in done.stderr and "Traceback" not in done.stderr
