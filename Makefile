# Mainspring developer entry points. Needs only Python 3.11+ and make.
#   make run    create .venv, install, run the examples, show where their history is
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

.PHONY: run test bench lint format clean help

help:
	@echo "make run    - install and run the example flows, then show their run history"
	@echo "make test   - lint, check formatting and run the test suite (PYTEST_ARGS=...)"
	@echo "make bench  - run the benchmarks"
	@echo "make lint   - ruff check and ruff format --check"
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

run: $(STAMP)
	$(BIN)/python examples/run_all.py

test: $(DEV_STAMP) lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf build dist .pytest_cache .ruff_cache src/*.egg-info $(STAMP) $(DEV_STAMP)
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
