# Every CI step is one of these targets, so a laptop runs exactly what GitHub runs.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
PYTHON ?= python3
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
# uv installs exactly what uv.lock says (--frozen: no resolution, no drift). When the machine has no
# uv, a pinned one is bootstrapped into .uv/ with pip, once.
UV_VERSION := 0.12.4
UV ?= $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.uv/bin/uv)
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
# Some machines (CI images) set PYTHONDONTWRITEBYTECODE: then every `mlgate`/`dvc` process recompiles
# every import (tens of seconds per gate). Bytecode is written lazily, on first import, instead.
unexport PYTHONDONTWRITEBYTECODE
# The roles a machine installs (extras of pyproject.toml): everything on a laptop and for the tests;
# CI jobs ask for less, e.g. `make install EXTRAS=deploy`.
EXTRAS ?= pipeline dev
space := $(eval) $(eval)
INSTALLED := $(VENV)/.installed-$(subst $(space),-,$(strip $(EXTRAS)))

.PHONY: help install run data repro check-results summary test lint format clean bench-gates image bench-serve bench-setup test-unit test-project test-smoke bench-pr

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(CURDIR)/.uv/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.uv
	$(CURDIR)/.uv/bin/pip install -q uv==$(UV_VERSION)

$(INSTALLED): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen $(addprefix --extra ,$(EXTRAS))
	rm -f $(VENV)/.installed-*
	touch $@

ifdef MLGATE_PREINSTALLED
install: ## (MLGATE_PREINSTALLED set: use the mlgate already on PATH, as the workflow tests do)
	@command -v mlgate >/dev/null || { echo "MLGATE_PREINSTALLED is set but mlgate is not on PATH" >&2; exit 1; }
else
install: $(INSTALLED) ## Create the venv: exactly uv.lock (roles: EXTRAS="pipeline dev")
endif

data: install ## Get data/: dvc pull (on failure: DVC's error and what to do); the demo sample is rebuilt only if data.dvc tracks it
	mlgate data pull

repro: data ## Run the DVC pipeline (unchanged stages are skipped)
	dvc repro

check-results: repro ## Fail in one line when the committed dvc.lock or metrics are not what repro gives
	mlgate check-results

summary: install ## Print the metrics and where the outputs are
	mlgate summary

run: repro summary ## Set up, get data, run the gated pipeline, print the summary

# One pytest session, in parallel (pytest-xdist). Tests that share the Docker engine are grouped by the
# deployment world they own (tests/conftest.py): each world has its own container names and ports, so the
# act scenario's repositories and the promotion fault matrix run side by side, each in order inside its
# worker, and they start first (they are the longest). They mostly wait on containers and workflow runs,
# so `make test` starts at least 4 workers even on 2 cores. Processes share bytecode even where the
# environment disables writing it (PYTHONDONTWRITEBYTECODE): the suite starts hundreds of Python processes
# that import the same libraries. tests/project reads the project's own data, so `data` comes first.
PYTEST_WORKERS ?= auto
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(max(4, os.cpu_count() or 1))')
PYTEST := PYTHONDONTWRITEBYTECODE= pytest --dist loadgroup --no-loadscope-reorder

test: data ## Run the whole test suite (the project's data first: tests/project reads it)
	$(PYTEST) -n $(TEST_WORKERS)

lint: install ## ruff check and format check
	ruff check src tests benchmarks
	ruff format --check src tests benchmarks

format: install ## Apply ruff fixes and formatting
	ruff check --fix src tests benchmarks
	ruff format src tests benchmarks

clean: ## Remove pipeline outputs (not data/, not the venv)
	rm -rf outputs metrics plots reports

bench-gates: install ## Time mlgate's gates vs deepchecks' default suites on the same data (after make run)
	python benchmarks/bench_gates.py

image: install ## Build the serving image from outputs/model with its model card (after make run)
	mlgate card >/dev/null
	mlgate image build --tag $(or $(IMAGE),mlgate-serve:dev)

bench-setup: install ## Fresh clone to a finished make run: uv (ours) next to pip, empty caches, one run
	python benchmarks/bench_setup.py

bench-serve: install ## Same model behind mlflow models serve and mlgate serve, same wrk load (after make run)
	python benchmarks/bench_serve.py

test-unit: data ## Unit, data, model, project and in-process serving tests with coverage (no Docker, act, browser)
	$(PYTEST) -n $(PYTEST_WORKERS) -m "not container and not e2e and not workflows and not browser" --cov=mlgate --cov-report=xml --cov-report=term

# Your tests, which read your params and data, and the config's. The pipeline job runs them after `make repro` on
# the model it gated (MLGATE_MODEL_DIR=outputs/model); elsewhere they test the repository's outputs when current,
# else a model trained once in a temp dir (docs/testing.md).
test-project: data ## Your project's tests (tests/project) and the config's, on the current model (docs/testing.md)
	$(PYTEST) -n $(PYTEST_WORKERS) tests/project tests/template/code/test_config.py

# What a pull request that changes only the project's own files runs besides lint (`mlgate changes` says
# tests=project): a fast smoke of the machinery, one process (the pipeline job runs your tests on its model).
test-smoke: install ## The machinery's smoke (tests marked smoke, under a minute): what a PR changing only your files runs
	$(PYTEST) -n 0 -m smoke tests/template

bench-pr: install ## The PR workflow under act (fresh clone, warm uv cache): wall time per job, push to report, total
	python benchmarks/bench_pr.py
