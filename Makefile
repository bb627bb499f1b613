# Mainspring developer entry points. Needs only Python 3.11+ and make.
#   make run    create .venv, install, run the examples, then serve their history (the API) and
#               a flow served through that server every second
#   make test   create .venv, install dev extras, lint, check formatting, run pytest
# Installs are remembered by stamp files that depend on pyproject.toml, so repeated runs
# skip pip entirely until the dependencies change.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# `wildcard` keeps ruff quiet about folders a fresh checkout may not have yet.
LINT_PATHS := $(wildcard src tests examples benchmarks)
PYTEST_ARGS ?=
# `make test` spreads the test files over TEST_WORKERS processes (pytest-xdist), each file whole
# on one worker (--dist loadfile: a module's shared fixtures, such as a server, a Dask cluster
# or the docker image, are made once). The tests mostly wait on child processes, servers and
# databases, so more workers than CPUs pays off; TEST_WORKERS=0 runs them all in one process.
TEST_WORKERS ?= 4
SERVER_ARGS ?=

.PHONY: run examples test bench lint format clean help screenshots

help:
	@echo "make run    - install, run the example flows, then serve their history and a flow"
	@echo "              running every second until Ctrl-C"
	@echo "              (SERVER_ARGS=\"--port 4201\" for another port)"
	@echo "make examples - install and run the example flows only"
	@echo "make test   - lint, check formatting and run the test suite (PYTEST_ARGS=...,"
	@echo "              TEST_WORKERS=4 processes)"
	@echo "make bench  - run the benchmarks"
	@echo "make screenshots - docs/screenshots/*.png of the web UI (headless chromium)"
	@echo "make lint   - ruff check, ruff format --check, the layering check (lint-imports), mypy"
	@echo "make format - apply ruff's fixes and formatting"
	@echo "make clean  - remove caches, build output and install stamps (keeps .venv)"

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "No python3 found; install Python 3.11+" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "$(PYTHON) is older than 3.11; run: make PYTHON=/path/to/python3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "Could not create $(VENV); on Debian/Ubuntu: apt install python3-venv" >&2; exit 1; }

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@ $(STAMP)

# The server reads the database the examples recorded into, and serves examples/served_flow.py
# alongside (examples/serve_with_server.py); with MAINSPRING_API_URL set they recorded into
# that server instead, so there is nothing to serve from here.
run: examples
	@if [ -n "$$MAINSPRING_API_URL" ]; then \
		echo "Recorded into the server at $$MAINSPRING_API_URL; not starting another."; \
	else \
		echo "Serving that history and a flow every second: open the web UI at the address below (Ctrl-C to stop):"; \
		$(BIN)/python examples/serve_with_server.py --no-access-log $(SERVER_ARGS); \
	fi

examples: $(STAMP)
	$(BIN)/python examples/run_all.py

test: $(DEV_STAMP) lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=25 $(PYTEST_ARGS)

# lint-imports checks the layering (contracts in pyproject.toml: imports point downward only);
# mypy checks src/ (strict for model/; [tool.mypy] in pyproject.toml).
lint: $(DEV_STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/lint-imports
	$(BIN)/mypy

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

screenshots: $(DEV_STAMP)  # docs/screenshots/*.png of the web UI (needs /usr/bin/chromium)
	$(BIN)/python benchmarks/ui_screenshots.py

clean:
	rm -rf build dist .pytest_cache .ruff_cache .mypy_cache .grimp_cache .import_linter_cache \
		src/*.egg-info $(STAMP) $(DEV_STAMP)
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
