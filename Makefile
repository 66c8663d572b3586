# Two commands from a fresh clone: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
HASH := $(shell sha1sum pyproject.toml | cut -c1-12)
# What `make run` needs (the product, Prefect, the demo's local mailbox), and what `make test`
# adds (the developer tools): one stamp each, per version of pyproject.toml.
RUN_STAMP := $(VENV)/.installed-run-$(HASH)
TEST_STAMP := $(VENV)/.installed-test-$(HASH)
DATABASE_URL ?= sqlite:///./sagsflow.db
DEMO_CASES ?= 300
DEMO_SMTP_PORT ?= 2525
PREFECT_PORT ?= 4200
WEB_PORT ?= 8000

.PHONY: help install install-dev run demo test lint typecheck unit integration e2e postgres chromium bench clean

help:
	@echo "make run    - set up, load the demo (SQLite) into ./sagsflow.db, sweep, print the supervisor's view,"
	@echo "              then run the dashboard + API (:8000), the Prefect deployments (:4200) and a local mailbox"
	@echo "make test   - set up and run the whole suite (lint, types, unit, integration on SQLite+PostgreSQL, e2e)"
	@echo "make bench  - the benchmarks in bench/"

$(BIN)/pip:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/pip
	$(BIN)/pip install --quiet -e '.[flows,demo]'
	rm -f $(VENV)/.installed-run-*
	touch $(RUN_STAMP)

$(TEST_STAMP): pyproject.toml | $(BIN)/pip
	$(BIN)/pip install --quiet -e '.[dev,flows,demo]'
	rm -f $(VENV)/.installed-*
	touch $(TEST_STAMP) $(RUN_STAMP)

install: $(RUN_STAMP)

install-dev: $(TEST_STAMP)

run: install
	SAGSFLOW_DATABASE_URL=$(DATABASE_URL) $(BIN)/sagsflow db upgrade
	SAGSFLOW_DATABASE_URL=$(DATABASE_URL) $(BIN)/sagsflow demo --cases $(DEMO_CASES) --if-empty
	SAGSFLOW_DATABASE_URL=$(DATABASE_URL) $(BIN)/sagsflow sweep
	SAGSFLOW_DATABASE_URL=$(DATABASE_URL) $(BIN)/sagsflow report stuck
	@mkdir -p state
	@echo
	@echo "Supervisor's view above. Now running what a municipality runs on one machine:"
	@echo "  Dashboard and API: http://127.0.0.1:$(WEB_PORT)   (API under /api/v1, OpenAPI at /openapi.json)"
	@echo "  Sign in as a demo user, password \"sagsflow-demo\":"
	@echo "    tl1  team leader, Team Nord     (tl2, tl3: Syd, Øst)"
	@echo "    rw1  caseworker, Team Nord      (rw2 … rw9)"
	@echo "    dh   department head (all cases)   revisor  auditor (read-only)   admin  (no cases)"
	@echo "  Or this one-time link (15 minutes, once):"
	@echo "    $$(SAGSFLOW_DATABASE_URL=$(DATABASE_URL) SAGSFLOW_BASE_URL=http://127.0.0.1:$(WEB_PORT) $(BIN)/sagsflow user link tl1)"
	@echo "  Prefect UI: http://127.0.0.1:$(PREFECT_PORT) (the five deployments, served from here)"
	@echo "  Mail goes to a local mailbox in state/mail/ (SMTP 127.0.0.1:$(DEMO_SMTP_PORT))."
	@echo "  Ctrl-C stops it all."
	@$(BIN)/python -m aiosmtpd -n -l 127.0.0.1:$(DEMO_SMTP_PORT) -c aiosmtpd.handlers.Mailbox state/mail & mailbox=$$!; \
	SAGSFLOW_DATABASE_URL=$(DATABASE_URL) $(BIN)/sagsflow serve --port $(WEB_PORT) & web=$$!; \
	trap 'kill $$mailbox $$web 2>/dev/null; wait $$mailbox $$web 2>/dev/null' EXIT; \
	SAGSFLOW_DATABASE_URL=$(DATABASE_URL) SAGSFLOW_SMTP_HOST=127.0.0.1 SAGSFLOW_SMTP_PORT=$(DEMO_SMTP_PORT) \
	$(BIN)/sagsflow flows serve --port $(PREFECT_PORT)

# PostgreSQL is part of the test suite: start the local cluster when it is down.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL did not start"; exit 1

# The dashboard's browser tests drive Debian's Chromium (Playwright's own browser download does not
# work on these machines): install it when it is missing.
chromium:
	@test -x /usr/bin/chromium || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install-dev
	$(BIN)/mypy

unit: install-dev
	$(BIN)/pytest -q tests/unit tests/present

integration: install-dev postgres
	$(BIN)/pytest -q tests/integration

e2e: install-dev postgres
	$(BIN)/pytest -q tests/e2e

test: install-dev postgres chromium lint typecheck
	$(BIN)/pytest -q -p no:cacheprovider -n 2 --dist loadgroup tests

bench: install-dev postgres
	$(BIN)/python bench/events.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis sagsflow.db sagsflow.db-* state
