# The front door. `make demo` and `make test` work from a fresh clone on Debian/Ubuntu + Python 3.11.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
RUN := $(UV) run --frozen
# Test processes: most slow tests wait on subprocesses and servers, so more workers than cores pay.
TEST_WORKERS ?= 3

.PHONY: help install demo serve test lint typecheck migrations-check unit bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m pip install --quiet --user uv || $(PYTHON) -m pip install --quiet --break-system-packages --user uv

.venv/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	@touch $@

install: .venv/.installed  ## create .venv with every dependency (uv, from the lock file)

demo: install  ## run Edgewatch on the embedded default (SQLite, simulator) at http://127.0.0.1:8000
	$(RUN) edgewatch demo

serve: install  ## serve the API and dashboard with the current configuration
	$(RUN) edgewatch serve

lint: install  ## ruff (lint and format check)
	$(RUN) ruff check src tests bench
	$(RUN) ruff format --check src tests bench

typecheck: install  ## mypy --strict on the package
	$(RUN) mypy

test: install  ## the whole suite: lint, types, migrations, pytest on PostgreSQL + Redis (started here)
	$(MAKE) lint typecheck
	@set -euo pipefail; \
	eval "$$(scripts/test-services.sh start)"; \
	trap 'scripts/test-services.sh stop' EXIT; \
	$(RUN) python -m edgewatch.db.check_drift "$$EDGEWATCH_TEST_POSTGRES_URL"; \
	$(RUN) pytest -n $(TEST_WORKERS) --dist loadfile --durations=25 --cov --cov-report=term $(PYTEST_ARGS)

bench: install  ## the benchmarks under bench/ (each prints its ratio to an in-run baseline)
	@for b in bench/*.py; do echo "== $$b"; $(RUN) python $$b || exit 1; done

clean:  ## remove local build and test artefacts (not your data directory)
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache .coverage htmlcov
