# Everything a fresh clone needs: `make run` serves the forum, `make test` proves it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INI ?= development.ini

.PHONY: run test browser-test lint reconcile stop-db clean-db

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

test: $(VENV)/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

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
