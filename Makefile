# Everything a fresh clone needs: `make run` serves the forum, `make test` proves it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INI ?= development.ini

.PHONY: run test browser-test lint reconcile stop-db clean-db cluster cluster-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the project's dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,testing]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/forum-initialize-db $(INI)
	$(BIN)/pserve $(INI)

# tests/test_cluster.py needs HAProxy and redis-server: installed here when missing and we
# may (root, or sudo without a password); otherwise that one test is skipped and says why.
test: $(VENV)/.installed
	-@$(MAKE) --no-print-directory cluster-deps SUDO="$(if $(IS_ROOT),,sudo -n)" 2>/dev/null
	$(BIN)/pytest $(PYTEST_ARGS)

# The forum as deployed on one machine: WEB waitress processes behind HAProxy on
# FORUM_PORT (6543), Redis, a Celery worker, on FORUM_DATABASE_URL or the embedded
# PostgreSQL (forum-cluster, forum/scripts/cluster.py). Ctrl-C stops it all.
WEB ?= 2
CLUSTER_INI ?= cluster.ini
cluster: $(VENV)/.installed cluster-deps
	$(BIN)/forum-cluster $(CLUSTER_INI) --web $(WEB) --port $(or $(FORUM_PORT),6543)

# Debian's haproxy and redis-server, installed only when missing (a fresh machine has neither).
IS_ROOT := $(filter 0,$(shell id -u))
SUDO ?= $(if $(IS_ROOT),,sudo)
cluster-deps:
	@command -v haproxy >/dev/null 2>&1 && command -v redis-server >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq haproxy redis-server >/dev/null; }

$(VENV)/.installed-browser: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[browser]'
	touch $@

# Real headless Chromium (Debian's package: apt-get install chromium) driven by Playwright.
browser-test: $(VENV)/.installed-browser
	$(BIN)/pytest browser_tests $(PYTEST_ARGS)

# .ci/run and .pre-commit-config.yaml run the same three checks.
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

reconcile: $(VENV)/.installed
	$(BIN)/forum-reconcile $(INI)

# Stop the embedded server on var/postgres (whoever started it); the data stays.
stop-db: $(VENV)/.installed
	$(BIN)/python -m forum.embedded_postgres stop var/postgres

# Stop and delete the embedded database (var/postgres); `make run` makes a new one.
clean-db: $(VENV)/.installed
	$(BIN)/python -m forum.embedded_postgres delete var/postgres
