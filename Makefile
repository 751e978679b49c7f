# VibeTrading: every command a developer or CI needs. `make test` is the gate CI runs.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
# uv manages .venv itself; an activated environment elsewhere must not redirect it
unexport VIRTUAL_ENV
UV_VERSION := 0.13.8
UV := $(PYTHON) -m uv
VENV := .venv
BIN := $(VENV)/bin
STRATEGY ?= strategies/my_strategy_a.py

.PHONY: help install run test waivers lint format typecheck contracts pytest browser validate bench chaos evidence release-dry-run clean

# A failing gate names itself and the command that reproduces it. A waiver in force for the gate
# (ops/waivers.toml, docs/readiness.md) lets the run go on; a broken waiver file waives nothing.
gate_failed = { echo "gate FAILED: $(1) — reproduce with: make $(2)" >&2; $(BIN)/python -m daemon.readiness waived $(1); }

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

$(BIN)/vibetrading: pyproject.toml uv.lock
	@$(UV) --version 2>/dev/null | grep -q "uv $(UV_VERSION)" || \
	  $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)" || \
	  $(PYTHON) -m pip install --quiet --user "uv==$(UV_VERSION)" || \
	  $(PYTHON) -m pip install --quiet --user --break-system-packages "uv==$(UV_VERSION)"
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

install: $(BIN)/vibetrading ## create .venv from uv.lock (installs uv with pip when missing)

FIXTURE ?= replay_fixtures/krx-kospi6-daily

run: install ## the main job: replay the bundled KOSPI fixture with the canonical strategy, print the report
	$(BIN)/vibetrading replay $(STRATEGY) --data $(FIXTURE) --cash 10000000 --fee-bps 15 --out runs/make-run --force

waivers: install ## check ops/waivers.toml and print the waivers in force
	$(BIN)/python -m daemon.readiness waivers || { echo "gate FAILED: waivers — reproduce with: make waivers" >&2; exit 1; }

lint: install waivers ## ruff lint and format check
	$(BIN)/ruff check . || $(call gate_failed,lint,lint)
	$(BIN)/ruff format --check . || $(call gate_failed,format,lint)

format: install ## apply ruff formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install waivers ## mypy --strict over the product packages
	$(BIN)/mypy || $(call gate_failed,types,typecheck)

contracts: install waivers ## import-linter layer contracts from DESIGN.md
	$(BIN)/lint-imports || $(call gate_failed,layers,contracts)

pytest: install waivers browser ## unit, property, contract and replay tests
	$(BIN)/pytest || $(call gate_failed,tests,pytest)

# Debian's Chromium for tests/replay/test_report_browser.py, installed when missing and this is a
# root shell with apt-get (a CI machine); best effort: without it that test is skipped, nothing fails.
browser: ## headless Chromium for the report.html browser test (best effort)
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && export DEBIAN_FRONTEND=noninteractive && \
	    { timeout 900 apt-get install -y -q chromium >/dev/null 2>&1 || \
	      { timeout 300 apt-get update -q >/dev/null 2>&1 && timeout 900 apt-get install -y -q chromium >/dev/null 2>&1; }; }; } || \
	  echo "no Chromium here: tests/replay/test_report_browser.py will be skipped" >&2

validate: install waivers ## preflight the canonical strategy
	$(BIN)/vibetrading validate $(STRATEGY) || $(call gate_failed,preflight,validate)

test: waivers lint typecheck contracts pytest validate ## every gate, in the order CI runs them
	@echo "make test: all gates passed"

release-dry-run: install ## walk the release checklist (ops/RELEASE.md) without tagging or publishing
	$(BIN)/python -m daemon.release dry-run

bench: install ## benchmarks (on demand, not a gate)
	@for b in tests/bench/*.py; do echo "== $$b"; $(BIN)/python $$b; done

SEEDS ?= 34
KILLS ?= 3
CHAOS_SOAK_SECONDS ?= 60
chaos: install ## the seeded chaos suite (tests/chaos): a soak, kills, venue faults, audit; SEED=N reruns one seed
	$(if $(SEED),,$(BIN)/python -m tests.chaos.soak --seconds $(CHAOS_SOAK_SECONDS) --rate $(RATE) --out runs/chaos)
	$(BIN)/python -m tests.chaos.run --brokers --kills $(KILLS) $(if $(SEED),--seed $(SEED) --keep,--seeds $(SEEDS)) --out runs/chaos

SECONDS ?= 600
RATE ?= 5000
.PHONY: soak
soak: install ## the soak: a live session under RATE quotes/s for SECONDS s; RSS, loop lag, commit slopes
	$(BIN)/python -m tests.chaos.soak --seconds $(SECONDS) --rate $(RATE) --out runs/chaos

evidence: install ## write the evidence bundle evidence/<version>-<sha>/ (every gate, validations, determinism)
	$(BIN)/python -m daemon.evidence

clean: ## remove the venv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
