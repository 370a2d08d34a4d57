# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PEERS  ?= ../shared/peers

.PHONY: run test lint fmt bench peers clean openapi lock

# Exact versions with their hashes from requirements.lock, then the project itself.
$(BIN)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

## Start the gateway on its embedded defaults (SQLite ledger, built-in upstream simulator).
run: $(BIN)/.installed
	$(BIN)/smppgw --config config/smppgw.toml serve --demo

## Run the whole test suite (PostgreSQL and Node peers included).
test: $(BIN)/.installed peers
	$(BIN)/python -m pytest

## Install the Node SMPP peers' one npm dependency (used by interop tests and benchmarks).
peers:
	@if [ -x "$(PEERS)/setup.sh" ] && command -v npm >/dev/null; then \
		bash $(PEERS)/setup.sh $(CURDIR)/.peers-node >/dev/null; fi

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(BIN)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(BIN)/.installed peers
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) var .peers-node .pytest_cache .mypy_cache .ruff_cache

## Write the OpenAPI description the API serves to docs/openapi.json (a test compares them).
openapi: $(BIN)/.installed
	$(BIN)/python -m gateway.api.openapi docs/openapi.json

## Resolve requirements.lock again after changing a dependency in pyproject.toml.
lock: $(BIN)/.installed
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --extra dev --extra fast --generate-hashes --allow-unsafe \
		--strip-extras --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
