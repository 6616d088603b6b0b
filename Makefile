# The single entry point. `make demo` and `make test` set everything up
# (virtual environment, Python packages, npm packages) and are fast when
# nothing changed: each set-up step is guarded by a stamp file.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY_STAMP  := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
PYTEST_ARGS ?=

.PHONY: setup demo test lint typecheck format compile clean help

help:
	@echo "make demo   - set up, then run the demo and a 30-day scenario (report in demo-out/)"
	@echo "make test   - set up, then lint, type-check and run the whole test suite"
	@echo "make compile - recompile contracts/ into ledger_client/artifacts (needs node)"

setup: $(PY_STAMP) $(NPM_STAMP)

$(PY_STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

demo: setup
	$(BIN)/credit-chain demo
	$(BIN)/credit-chain simulate --days 30 --enterprises 200 --out demo-out

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# Line coverage of the Python packages is reported, and must stay at 90% or more.
COVERAGE := --cov=ledger_client --cov=api --cov=node_sim --cov=scripts \
	--cov-report=term:skip-covered --cov-fail-under=90

test: setup chromium lint typecheck
	$(BIN)/pytest $(COVERAGE) $(PYTEST_ARGS)

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

compile: setup
	$(BIN)/credit-chain compile

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache

# -- audit: a headless browser, so a test can open the audit report (issue 7) --------------
# Debian's chromium, installed only when the command is missing; a failure stops the set-up.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing chromium (Debian package) for the audit report test"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
			chromium fonts-dejavu-core >/dev/null; } && command -v chromium >/dev/null 2>&1 || { \
		echo "error: chromium could not be installed (apt-get install chromium)" >&2; exit 1; }
