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
.PHONY: help install report test test-fast chromium lint lab example real lock bench clean

help: ## list the targets
	@echo "adoption — make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-9s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@# bytecode now, once: with PYTHONDONTWRITEBYTECODE set, every process (each test worker, report kernel and
	@# command) would otherwise compile the modules it imports again (about 1.3 s of the simulator's start-up)
	$(BIN)/python -m compileall -q src
	$(BIN)/python -m ipykernel install --sys-prefix --name adoption --display-name "Python (adoption)" >/dev/null
	@touch $(STAMP)

install: $(STAMP) ## build .venv from requirements.lock (done by the other targets when needed)

report: $(STAMP) ## the main job: run the default reports (notebooks/manifest.yaml) on the bundled example data into reports/
	$(BIN)/adoption report --all
	@echo "open reports/index.html"

# --dist worksteal: each worker starts on its half of the suite and takes half of the other's queue when its
# own runs out (xdist's default, load, hands out big chunks early: one worker could run the last 90 s alone)
test: $(STAMP) chromium ## the whole suite: ruff, then pytest (unit, statistical, notebook, CLI, browser)
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/python -m pytest -n 2 --dist worksteal

test-fast: $(STAMP) ## the fast lane (about a minute): ruff, then every test not marked slow (no statistical recovery, notebooks, browser)
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/python -m pytest -n 2 --dist worksteal -m "not slow" -p no:cacheprovider

chromium: ## Debian's chromium for the browser test (installed when missing and we may use apt-get)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the browser test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing and cannot be installed here: the browser test will be skipped"; fi; }

lint: $(STAMP) ## ruff only
	$(BIN)/ruff check src tests $(wildcard benchmarks)

lab: $(STAMP) ## JupyterLab with this environment's kernel ("Python (adoption)")
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

example: $(STAMP) ## regenerate the bundled example log (src/adoption/datasets/example = data/example), identical each time
	$(BIN)/adoption simulate --scenario default --users 20000 --seed 20150218 --partition none --out src/adoption/datasets/example --overwrite

SHARED_REAL ?= ../shared/real/netdiffuseR
REAL := src/adoption/datasets/real
real: $(STAMP) ## rebuild the bundled real logs (data/real) from netdiffuseR's survey files in $(SHARED_REAL)
	rm -rf $(REAL)/medical_innovation $(REAL)/brazil_farmers
	$(BIN)/adoption import survey $(SHARED_REAL)/medInnovations.rdata --community city --id id --time toa --never 18 \
		--nominations 'net1_*,net2_*,net3_*' --start 1953-11-01 --unit month --keep thresh \
		--source "netdiffuseR medInnovations (Coleman, Katz & Menzel 1966; MIT licence)" --out $(REAL)/medical_innovation
	$(BIN)/adoption import survey $(SHARED_REAL)/brfarmers.rdata --community village --id id --time yr --never 66 \
		--nominations 'net1*,net2*,net3*,net4*' --start 1946-01-01 --unit year \
		--source "netdiffuseR brfarmers (Rogers, Ascroft & Roling 1970; MIT licence)" --out $(REAL)/brazil_farmers

lock: ## re-resolve requirements.lock from pyproject.toml (needs uv)
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --python-platform x86_64-unknown-linux-gnu -o requirements.lock

bench: $(STAMP) ## benchmarks against the peers (installs the bench extra); JSON lines into benchmarks/results/
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements-bench.lock
	mkdir -p benchmarks/results
	$(BIN)/python benchmarks/startup.py --repeat 9 | tee benchmarks/results/startup.jsonl
	$(BIN)/python benchmarks/peers.py --nodes 200000 | tee benchmarks/results/peers.jsonl
	$(BIN)/python benchmarks/floor.py --users 1000000 --repeat 2 | tee benchmarks/results/floor.jsonl
	$(BIN)/python benchmarks/simulate_scale.py --users 100000 1000000 | tee benchmarks/results/scale.jsonl
	$(BIN)/python benchmarks/activation.py headline --receivers 10000000 | tee benchmarks/results/headline.jsonl
	$(BIN)/python benchmarks/activation.py table --users 1000000 | tee benchmarks/results/table.jsonl
	$(BIN)/python benchmarks/throughput.py --tasks 2000 | tee benchmarks/results/throughput.jsonl

clean: ## remove the virtual environment and caches (never reports/ or data/)
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
