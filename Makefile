# Two commands from a fresh clone: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
DATABASE_URL ?= sqlite:///./sagsflow.db
DEMO_CASES ?= 300

.PHONY: help install run demo test lint typecheck unit integration e2e postgres bench clean

help:
	@echo "make run    - set up, load the demo (SQLite) into ./sagsflow.db, sweep, print the supervisor's view"
	@echo "make test   - set up and run the whole suite (lint, types, unit, integration on SQLite+PostgreSQL, e2e)"
	@echo "make bench  - the benchmarks in bench/"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,flows]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: install
	SAGSFLOW_DATABASE_URL=$(DATABASE_URL) $(BIN)/sagsflow db upgrade
	SAGSFLOW_DATABASE_URL=$(DATABASE_URL) $(BIN)/sagsflow demo --cases $(DEMO_CASES) --if-empty
	SAGSFLOW_DATABASE_URL=$(DATABASE_URL) $(BIN)/sagsflow sweep
	SAGSFLOW_DATABASE_URL=$(DATABASE_URL) $(BIN)/sagsflow report stuck
	@echo
	@echo "Supervisor's view above. Try: $(BIN)/sagsflow case show 1   |   $(BIN)/sagsflow --help"

# PostgreSQL is part of the test suite: start the local cluster when it is down.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL did not start"; exit 1

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q tests/unit

integration: install postgres
	$(BIN)/pytest -q tests/integration

e2e: install postgres
	$(BIN)/pytest -q tests/e2e

test: install postgres lint typecheck
	$(BIN)/pytest -q -p no:cacheprovider -n 2 tests

bench: install postgres
	$(BIN)/python bench/events.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis sagsflow.db sagsflow.db-*
