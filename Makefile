# adoption — the two commands: `make report` (the default reports) and `make test` (the whole suite).
# Both build the virtual environment from the lock file when it is missing or out of date.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
UV_VERSION := 0.13.9
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg
# one BLAS/OpenMP thread per process: the test workers and Dask workers share the cores
export OMP_NUM_THREADS := 1

.DEFAULT_GOAL := help
.PHONY: help install report test lint lab example lock bench clean

help: ## list the targets
	@echo "adoption — make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-9s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name adoption --display-name "Python (adoption)" >/dev/null
	@touch $(STAMP)

install: $(STAMP) ## build .venv from requirements.lock (done by the other targets when needed)

report: $(STAMP) ## the main job: run the default reports on the bundled example data into reports/
	@if [ -f notebooks/manifest.yaml ]; then $(BIN)/adoption report --all; \
	else echo "make report: there are no report notebooks yet (notebooks/manifest.yaml is missing): nothing to run"; fi

test: $(STAMP) ## the whole suite: ruff, then pytest (unit, statistical, notebook, CLI, browser)
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/python -m pytest -n 2

lint: $(STAMP) ## ruff only
	$(BIN)/ruff check src tests $(wildcard benchmarks)

lab: $(STAMP) ## JupyterLab with this environment's kernel ("Python (adoption)")
	$(BIN)/jupyter lab notebooks/

example: $(STAMP) ## regenerate data/example/ (identical each time)
	$(BIN)/adoption simulate --scenario default --users 20000 --seed 20150218 --out data/example --overwrite

lock: ## re-resolve requirements.lock from pyproject.toml (needs uv)
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --python-platform x86_64-unknown-linux-gnu -o requirements.lock

bench: $(STAMP) ## benchmarks against the peers (installs the bench extra); writes figures to stdout
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements-bench.lock
	$(BIN)/python benchmarks/run_all.py

clean: ## remove the virtual environment and caches (never reports/ or data/)
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
