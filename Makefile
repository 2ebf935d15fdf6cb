# The two commands: `make run` (the whole system on embedded defaults) and `make test`.
# The interpreter the venv is made from. Debian's CPython 3.11 (built with PGO and LTO) runs the
# engine ~1.1x faster than pyenv's default build on this machine type (docs/benchmarks.md,
# *Which CPython*); any python3 >= 3.11 works: `make setup PYTHON=python3`.
PYTHON ?= $(shell /usr/bin/python3.11 -c 'import ensurepip, venv' 2>/dev/null && echo /usr/bin/python3.11 || echo python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean setup system-deps

# A morning rush on the sales queue, so the demo shows alerts within a minute or two.
DEMO ?= --agents 40 --incident surge:sales@0x25+20

run: $(STAMP)
	$(BIN)/floorwatch up --simulate $(DEMO)

test: $(STAMP) system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check floorwatch services shared tests benchmarks deploy
	$(BIN)/lint-imports
	$(BIN)/mypy services/alerts/core services/notify/core services/reports/core shared/events.py shared/quiet_times.py services/alerts/export.py services/alerts/collector.py \
		shared/opshttp.py shared/logs.py floorwatch/metrics_relay.py shared/yamldoc.py shared/yamlmodel.py shared/yamltypes.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# What the test suite needs from the machine: PostgreSQL running, Chromium and CJK fonts.
system-deps:
	bash scripts/system-deps.sh

clean:
	rm -rf $(VENV) build *.egg-info floorwatch.db floorwatch.db-wal floorwatch.db-shm test-artifacts
