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

test: setup lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

compile: setup
	$(BIN)/credit-chain compile

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
