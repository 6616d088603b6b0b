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
# Two test processes (pytest-xdist), a test module to each at a time: the 2-core machines run
# the chain-bound tests of one beside the waiting ones (geth's sealing, servers starting) of
# the other. `make test WORKERS=0` runs everything in one process.
WORKERS ?= 2
XDIST := $(if $(filter 0,$(WORKERS)),,-n $(WORKERS) --dist loadfile)

.PHONY: setup tools slither demo test lint typecheck format compile clean help geth

help:
	@echo "make demo   - set up, then run the demo and a 30-day scenario (report in demo-out/)"
	@echo "make test   - set up, then lint, type-check and run the whole test suite"
	@echo "make compile - recompile contracts/ into ledger_client/artifacts (needs node)"
	@echo "make slither - static analysis of contracts/: fails on any high or medium finding"
	@echo "make geth   - build geth v1.13.15 (Clique) into .tools/bin for \`credit-chain network\`"

setup: $(PY_STAMP) $(NPM_STAMP) geth

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

# The demo and the test suite run on the revm engine: the same blocks, gas and output as
# py-evm (every conformance class passes on both; tests/ledger_client/test_engines.py compares
# the gas of every operation `bench gas` measures) in far less time. The suite's default is
# set in tests/conftest.py (`CREDIT_CHAIN_ENGINE=pyevm make test` runs all of it on py-evm);
# every conformance class runs on py-evm by name as well as on revm.
demo: setup
	$(BIN)/credit-chain --engine revm demo
	$(BIN)/credit-chain --engine revm simulate --days 30 --enterprises 200 --out demo-out

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# Slither over contracts/ (OpenZeppelin in node_modules left out); the test suite runs the
# same gate (tests/scripts/test_static_analysis.py), so `make test` needs the tools too.
slither: setup tools
	$(BIN)/python -m scripts.slither_gate contracts

# Line coverage of the Python packages is reported, and must stay at 90% or more.
COVERAGE := --cov=ledger_client --cov=pipeline --cov=api --cov=node_sim --cov=harness --cov=demos --cov=scripts --cov=sdk \
	--cov-report=term:skip-covered --cov-fail-under=90

test: setup tools chromium lint typecheck
	$(BIN)/pytest $(COVERAGE) $(XDIST) $(PYTEST_ARGS)

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

compile: setup
	$(BIN)/credit-chain compile

clean:
	rm -rf $(VENV) $(TOOLS_VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
	@# .tools/ (geth) is kept: rebuilding it takes minutes; `rm -rf .tools` forces it.

# -- geth v1.13.15, the last release that seals Clique (v1.14 dropped non-merge networks) --
# Built once from the Go module proxy into the git-ignored .tools/bin and skipped when
# present (a version stamp names the pin, so changing GETH_VERSION rebuilds). Go >= 1.23
# needs -checklinkname=0: an old dependency links a runtime symbol (go-ethereum #30100).
GETH_VERSION := v1.13.15
GO           ?= $(shell command -v go 2>/dev/null || { test -x /usr/local/go/bin/go && echo /usr/local/go/bin/go; })
TOOLS_BIN    := $(CURDIR)/.tools/bin
GETH         := $(TOOLS_BIN)/geth
GETH_STAMP   := $(TOOLS_BIN)/.geth-$(GETH_VERSION)

# The stamp alone is not trusted: a deleted binary is built again.
geth:
	@test -x $(GETH) || rm -f $(GETH_STAMP)
	@$(MAKE) --no-print-directory -q $(GETH_STAMP) || $(MAKE) --no-print-directory $(GETH_STAMP)

$(GETH_STAMP):
	@test -n "$(GO)" || { echo "error: go is missing: install the Go toolchain (>= 1.21) to build geth $(GETH_VERSION)" >&2; exit 1; }
	@command -v gcc >/dev/null 2>&1 || { echo "error: gcc is missing: geth $(GETH_VERSION) needs cgo (apt-get install gcc)" >&2; exit 1; }
	@mkdir -p $(TOOLS_BIN)
	@echo "building geth $(GETH_VERSION) into $(TOOLS_BIN) (a few minutes, once)"
	GOBIN=$(TOOLS_BIN) CGO_ENABLED=1 $(GO) install -ldflags=-checklinkname=0 \
		github.com/ethereum/go-ethereum/cmd/geth@$(GETH_VERSION)
	@$(GETH) version | grep -q "^Version: $(patsubst v%,%,$(GETH_VERSION))" || { \
		echo "error: $(GETH) is not geth $(GETH_VERSION)" >&2; exit 1; }
	@rm -f $(TOOLS_BIN)/.geth-*
	@touch $@

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
