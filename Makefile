# The single entry point. `make demo` and `make test` set everything up
# (virtual environment, Python packages, npm packages) and are fast when
# nothing changed: each set-up step is guarded by a stamp file.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY_STAMP  := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
# Slither needs web3 7 and the project pins web3 8: the analysis tools get a venv of their own.
TOOLS_VENV  := .venv-tools
TOOLS_STAMP := $(TOOLS_VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup tools slither demo test lint typecheck format compile clean help

help:
	@echo "make demo   - set up, then run the demo and a 30-day scenario (report in demo-out/)"
	@echo "make test   - set up, then lint, type-check and run the whole test suite"
	@echo "make compile - recompile contracts/ into ledger_client/artifacts (needs node)"
	@echo "make slither - static analysis of contracts/: fails on any high or medium finding"

setup: $(PY_STAMP) $(NPM_STAMP)

$(PY_STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@touch $@

tools: $(TOOLS_STAMP)

$(TOOLS_STAMP): requirements-tools.lock
	@test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		-c requirements-tools.lock slither-analyzer
	@touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The demo runs on the revm engine: the same blocks, gas and output as py-evm (every
# conformance class passes on both; tests/test_engines.py compares the gas of every
# operation), in about half the time. `make test` keeps py-evm as the default engine and
# runs each conformance class on revm as well.
demo: setup
	$(BIN)/credit-chain --engine revm demo
	$(BIN)/credit-chain --engine revm simulate --days 30 --enterprises 200 --out demo-out

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# Slither over contracts/ (OpenZeppelin in node_modules left out); the test suite runs the
# same gate (tests/test_static_analysis.py), so `make test` needs the tools too.
slither: setup tools
	$(BIN)/python -m scripts.slither_gate contracts

# Line coverage of the Python packages is reported, and must stay at 90% or more.
COVERAGE := --cov=ledger_client --cov=pipeline --cov=api --cov=node_sim --cov=scripts --cov=sdk \
	--cov-report=term:skip-covered --cov-fail-under=90

test: setup tools chromium lint typecheck
	$(BIN)/pytest $(COVERAGE) $(PYTEST_ARGS)

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

compile: setup
	$(BIN)/credit-chain compile

clean:
	rm -rf $(VENV) $(TOOLS_VENV) node_modules .pytest_cache .mypy_cache .ruff_cache

# -- a headless browser, so a test can open the audit report, with a CJK font ---------------
# Debian's chromium and fonts-noto-cjk (长三角征信链 drawn as text, not boxes), installed only
# when either is missing; a failure stops the set-up.
.PHONY: chromium
chromium:
	@{ command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; } || { \
		echo "installing chromium and fonts-noto-cjk (Debian packages) for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
			chromium fonts-dejavu-core fonts-noto-cjk fontconfig >/dev/null; } && command -v chromium >/dev/null 2>&1 || { \
		echo "error: chromium could not be installed (apt-get install chromium)" >&2; exit 1; }
